package market_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

func TestPickLegacyTask(t *testing.T) {
	t.Parallel()
	at := func(min int) *time.Time {
		v := time.Date(2025, 10, 9, 9, min, 0, 0, time.UTC)
		return &v
	}
	// Newest first, as the engine lists them.
	for name, c := range map[string]struct {
		active []market.BatchSummary
		want   string
	}{
		"none": {nil, ""},
		"the running one that started first": {[]market.BatchSummary{
			{TaskID: "q", Status: market.BatchQueued},
			{TaskID: "r2", Status: market.BatchRunning, StartTime: at(5)},
			{TaskID: "r1", Status: market.BatchRunning, StartTime: at(1)},
			{TaskID: "p", Status: market.BatchPaused, StartTime: at(0)},
		}, "r1"},
		"else the newest waiting one": {[]market.BatchSummary{
			{TaskID: "c", Status: market.BatchCancelling, StartTime: at(3)},
			{TaskID: "p", Status: market.BatchPaused, StartTime: at(0)},
			{TaskID: "q", Status: market.BatchQueued},
		}, "c"},
		"finished ones never": {[]market.BatchSummary{{TaskID: "d", Status: market.BatchCompleted}}, ""},
	} {
		got, ok := market.PickLegacyTask(c.active)
		require.Equal(t, c.want, got, name)
		require.Equal(t, c.want != "", ok, name)
	}
}

func TestLegacyTaskShape(t *testing.T) {
	t.Parallel()
	started := time.Date(2025, 10, 18, 4, 0, 0, 0, time.UTC)
	s := &market.Snapshot{TaskID: "2025-10-01_2025-10-09_1", Status: market.BatchRunning, Total: 9, Current: 3,
		StartDate: "2025-10-01", EndDate: "2025-10-09", StartTime: &started, ProgressPercent: 33.3,
		Message: "正在同步... (33.3%)",
		Errors:  []market.ErrorEntry{{Date: "2025-10-03"}, {Date: "2025-10-02"}}}
	task := market.NewLegacyTask(s)
	task.In(time.FixedZone("CST", 8*3600))
	require.Equal(t, "2025-10-01", task.Progress.StartTime)
	require.Equal(t, "2025-10-09", task.Progress.EndTime)
	require.Equal(t, "2025-10-18T12:00:00+08:00", task.Progress.TaskStartTime.Format(time.RFC3339))
	require.Equal(t, "正在同步... (33.3%)", task.Progress.Message)
	require.Equal(t, []market.ErrorEntry{{Date: "2025-10-02"}, {Date: "2025-10-03"}}, task.Progress.Errors, "oldest first")
	require.Equal(t, "2025-10-03", s.Errors[0].Date, "the snapshot is left as it was")
	require.Equal(t, []market.ErrorEntry{}, market.LegacyErrors(nil))
}

func TestSyncRecordHelpers(t *testing.T) {
	t.Parallel()
	require.Equal(t, 20251009, market.SyncRecordID(time.Date(2025, 10, 9, 0, 0, 0, 0, time.UTC)))
	msg := "connection reset"
	require.Equal(t, "同步完成: 入库5377条", market.SyncRemarks(market.SyncSuccess, 5377, nil))
	require.Equal(t, "同步失败: connection reset", market.SyncRemarks(market.SyncFailed, 0, &msg))
	require.Equal(t, "同步失败", market.SyncRemarks(market.SyncFailed, 0, nil))
	for _, s := range []string{"", "success", "failed", "syncing", "skipped", "pending"} {
		_, err := market.ParseSyncStatus(s)
		require.NoError(t, err, s)
	}
	_, err := market.ParseSyncStatus("running")
	require.ErrorIs(t, err, market.ErrInvalidInput)
	p := (&market.SyncPage{}).In(time.UTC)
	require.NotNil(t, p.Records)
}
