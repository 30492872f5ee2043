package catalog

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

func TestEveryEntryHasBothLanguages(t *testing.T) {
	t.Parallel()
	for key, e := range entries {
		require.NotEmpty(t, e.en, key)
		require.NotEmpty(t, e.zh, key)
		require.Equal(t, strings.Count(e.en, "%"), strings.Count(e.zh, "%"), "the same arguments in both: %s", key)
	}
	require.Equal(t, "rows: 5", T(EN, "rows: %d", 5), "text that is not a key passes through")
}

func TestBatchLineSaysTheStateOnce(t *testing.T) {
	t.Parallel()
	secs := 930.0
	day := "2025-10-09"
	s := &market.Snapshot{Status: market.BatchRunning, ProgressPercent: 33.3, CurrentDate: &day}
	require.Equal(t, "syncing 2025-10-09... (33.3%)", BatchLine(EN, s))
	require.Equal(t, "正在同步 2025-10-09... (33.3%)", BatchLine(ZH, s))
	s = &market.Snapshot{Status: market.BatchCompleted, Success: 7, AlreadyLoaded: 2, Failed: 1, DurationSeconds: &secs}
	require.Equal(t, "completed: 7 loaded, 2 already loaded, 1 failed in 15m30s", BatchLine(EN, s))
	require.Equal(t, "批量同步完成: 成功7, 已有2, 失败1, 耗时15分30秒", BatchLine(ZH, s))
	s = &market.Snapshot{Status: market.BatchFailed, Reason: "Tushare rejected the token", Success: 1}
	require.Equal(t, "failed: Tushare rejected the token (1 loaded, 0 already loaded, 0 failed)", BatchLine(EN, s))
	b := market.BatchSummary{Status: market.BatchCancelled, Success: 3, Cancelled: 2, Pending: 1}
	require.Equal(t, "cancelled: 3 loaded, 0 already loaded, 0 failed, 3 not loaded in 0s", SummaryLine(EN, b))
	require.Equal(t, "1h2m5s", Duration(EN, time.Hour+2*time.Minute+5*time.Second))
	require.Equal(t, "1小时0分5秒", Duration(ZH, time.Hour+5*time.Second))
}
