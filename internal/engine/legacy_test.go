package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// fixtureDay is one batch_days row of a hand-made batch.
type fixtureDay struct {
	day      string
	status   market.DayStatus
	started  int // minutes after the fixture's clock; -1: never
	finished int // minutes after the fixture's clock; -1: not finished
	err      string
}

// insertFixtureBatch writes a batch and its days as the engine would have left them,
// without queueing anything: its status says whether it is finished.
func insertFixtureBatch(t *testing.T, e *env, status market.BatchStatus, days ...fixtureDay) int64 {
	t.Helper()
	ctx := context.Background()
	clock := time.Date(2020, 1, 2, 3, 0, 0, 0, time.UTC)
	at := func(min int) *time.Time {
		if min < 0 {
			return nil
		}
		v := clock.Add(time.Duration(min) * time.Minute)
		return &v
	}
	var id int64
	err := e.pool.QueryRow(ctx, `
		INSERT INTO batches (task_id, datasets, start_date, end_date, status, queue, total, trading_days, created_by)
		VALUES ('legacy_fixture_' || gen_random_uuid(), '{daily}', '1996-03-04', '1996-03-15', $1, 'legacy_fixture', $2, $2, 'api')
		RETURNING id`, status, len(days)).Scan(&id)
	require.NoError(t, err)
	for _, d := range days {
		var errMsg *string
		if d.err != "" {
			errMsg = &d.err
		}
		trading := weekday(date(d.day))
		_, err := e.pool.Exec(ctx, `
			INSERT INTO batch_days (batch_id, dataset, day, trading, status, started_at, finished_at, error)
			VALUES ($1, 'daily', $2, $3, $4, $5, $6, $7)`,
			id, date(d.day), trading, d.status, at(d.started), at(d.finished), errMsg)
		require.NoError(t, err)
	}
	return id
}

func weekday(d time.Time) bool { return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday }

// cover records day as loaded by batch with rows rows.
func cover(t *testing.T, e *env, day string, batch int64, rows int64) {
	t.Helper()
	_, err := e.pool.Exec(context.Background(), `
		INSERT INTO coverage (dataset, day, rows, synced_at, batch_id) VALUES ('daily', $1, $2, '2020-01-02 05:00:00Z', $3)
		ON CONFLICT (dataset, day) DO UPDATE SET rows = excluded.rows, synced_at = excluded.synced_at, batch_id = excluded.batch_id`,
		date(day), rows, batch)
	require.NoError(t, err)
}

// TestSyncRecordsDeriveEachDay builds, by hand, the batches that leave each trading day of
// March 1996 in one state of the old records, and checks every field of every record.
func TestSyncRecordsDeriveEachDay(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, engine.Config{Parallelism: -1})
	// Batch a ran first and finished; b ran later and finished; c is paused.
	a := insertFixtureBatch(t, e, market.BatchCompleted,
		fixtureDay{"1996-03-04", market.DaySucceeded, 0, 2, ""},
		fixtureDay{"1996-03-05", market.DayFailed, 2, 3, "boom in a"},
		fixtureDay{"1996-03-06", market.DayCancelled, -1, 4, ""},
		fixtureDay{"1996-03-07", market.DayFailed, 4, 5, "boom in a"},
		fixtureDay{"1996-03-09", market.DaySkipped, -1, 0, ""}, // a Saturday: no record
		fixtureDay{"1996-03-13", market.DayFailed, 5, 6, "boom in a"},
	)
	b := insertFixtureBatch(t, e, market.BatchCancelled,
		fixtureDay{"1996-03-04", market.DaySkipped, 10, 10, ""}, // already loaded
		fixtureDay{"1996-03-05", market.DayCancelled, -1, 11, ""},
		fixtureDay{"1996-03-06", market.DayFailed, 11, 12, "boom in b"},
		fixtureDay{"1996-03-07", market.DaySucceeded, 12, 15, ""},
	)
	insertFixtureBatch(t, e, market.BatchPaused,
		fixtureDay{"1996-03-04", market.DayPending, -1, -1, ""},
		fixtureDay{"1996-03-11", market.DayPending, -1, -1, ""},
		fixtureDay{"1996-03-12", market.DayRunning, 20, -1, ""},
		fixtureDay{"1996-03-13", market.DayPending, -1, -1, ""},
	)
	cover(t, e, "1996-03-04", a, 120)
	cover(t, e, "1996-03-07", b, 130)

	ctx := context.Background()
	all := market.SyncFilter{Start: date("1996-03-01"), End: date("1996-03-31"), Page: 1, PageSize: 50}
	got, err := e.engine.SyncRecords(ctx, all)
	require.NoError(t, err)
	require.Equal(t, market.SyncStats{Total: 7, Success: 2, Failed: 1, Syncing: 1, Skipped: 1}, got.Stats)
	require.Equal(t, 7, got.Total)
	require.Equal(t, 1, got.TotalPages)
	byDate := map[string]market.SyncRecord{}
	var order []string
	for _, r := range got.Records {
		byDate[r.SyncDate] = r
		order = append(order, r.SyncDate)
	}
	require.Equal(t, []string{"1996-03-13", "1996-03-12", "1996-03-11", "1996-03-07", "1996-03-06", "1996-03-05", "1996-03-04"}, order)

	clock := time.Date(2020, 1, 2, 3, 0, 0, 0, time.UTC)
	at := func(min int) *time.Time { v := clock.Add(time.Duration(min) * time.Minute); return &v }
	secs := func(n int64) *int64 { return &n }
	text := func(s string) *string { return &s }
	want := map[string]market.SyncRecord{
		// Loaded by a, later skipped by b and waiting in c: the load counts.
		"1996-03-04": {ID: 19960304, Status: market.SyncSuccess, TotalRecords: 120, SuccessCount: 120,
			StartTime: at(0), EndTime: at(2), DurationSeconds: secs(120), Remarks: "同步完成: 入库120条"},
		// Failed in a, then cancelled in b: the latest says cancelled.
		"1996-03-05": {ID: 19960305, Status: market.SyncSkipped, StartTime: nil, EndTime: at(11), Remarks: "已取消"},
		// Cancelled in a, then failed in b.
		"1996-03-06": {ID: 19960306, Status: market.SyncFailed, FailedCount: 1, StartTime: at(11), EndTime: at(12),
			DurationSeconds: secs(60), ErrorMessage: text("boom in b"), Remarks: "同步失败: boom in b"},
		// Failed in a, loaded by b.
		"1996-03-07": {ID: 19960307, Status: market.SyncSuccess, TotalRecords: 130, SuccessCount: 130,
			StartTime: at(12), EndTime: at(15), DurationSeconds: secs(180), Remarks: "同步完成: 入库130条"},
		"1996-03-11": {ID: 19960311, Status: market.SyncPending, Remarks: "等待同步"},
		"1996-03-12": {ID: 19960312, Status: market.SyncSyncing, StartTime: at(20), Remarks: "同步中"},
		// Failed in a, waiting again in c.
		"1996-03-13": {ID: 19960313, Status: market.SyncPending, Remarks: "等待同步"},
	}
	for day, w := range want {
		w.SyncDate = day
		r := byDate[day]
		require.True(t, timesEqual(w.StartTime, r.StartTime), "%s start %v, want %v", day, r.StartTime, w.StartTime)
		require.True(t, timesEqual(w.EndTime, r.EndTime), "%s end %v, want %v", day, r.EndTime, w.EndTime)
		w.StartTime, w.EndTime, r.StartTime, r.EndTime = nil, nil, nil, nil
		require.Equal(t, w, r, day)
	}

	// Filters: status, dates; paging past the end keeps the stats.
	f := all
	f.Status = market.SyncPending
	got, err = e.engine.SyncRecords(ctx, f)
	require.NoError(t, err)
	require.Equal(t, market.SyncStats{Total: 2}, got.Stats)
	require.Len(t, got.Records, 2)
	f = market.SyncFilter{Start: date("1996-03-05"), End: date("1996-03-07"), Page: 2, PageSize: 2}
	got, err = e.engine.SyncRecords(ctx, f)
	require.NoError(t, err)
	require.Equal(t, 3, got.Total)
	require.Equal(t, 2, got.TotalPages)
	require.Len(t, got.Records, 1)
	require.Equal(t, "1996-03-05", got.Records[0].SyncDate)
	f.Page = 3
	got, err = e.engine.SyncRecords(ctx, f)
	require.NoError(t, err)
	require.Empty(t, got.Records)
	require.Equal(t, market.SyncStats{Total: 3, Success: 1, Failed: 1, Skipped: 1}, got.Stats)
}

func timesEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// BenchmarkSyncRecords reads the old records of twenty years of one dataset that a
// thousand batches covered (a quarter of a million batch days, some failed or
// cancelled): the whole range's stats and its first page, as the old page asks.
func BenchmarkSyncRecords(b *testing.B) {
	ctx := context.Background()
	p, _ := newPool(b)
	const ds = "legacy_bench"
	seed := []string{
		`INSERT INTO coverage (dataset, day, rows)
		 SELECT '` + ds + `', d::date, 5400 FROM generate_series('2005-01-03'::date, '2024-12-31', '1 day') d
		 WHERE extract(isodow FROM d) < 6 AND random() < 0.95`,
		`INSERT INTO batches (task_id, datasets, start_date, end_date, status, queue, total, trading_days, created_by)
		 SELECT 'legacy_bench_' || i, '{` + ds + `}', s, s + 250, CASE WHEN i % 200 = 0 THEN 'paused' ELSE 'completed' END,
		        'legacy_bench', 0, 0, 'api'
		 FROM (SELECT i, '2005-01-03'::date + (i * 7) % 7000 AS s FROM generate_series(1, 1000) i) x`,
		`INSERT INTO batch_days (batch_id, dataset, day, trading, status, started_at, finished_at, error)
		 SELECT b.id, '` + ds + `', d::date, extract(isodow FROM d) < 6,
		        CASE WHEN extract(isodow FROM d) >= 6 THEN 'skipped' WHEN b.status = 'paused' THEN 'pending'
		             WHEN random() < 0.03 THEN 'failed' WHEN random() < 0.05 THEN 'cancelled' ELSE 'skipped' END,
		        now(), now(), NULL
		 FROM batches b, generate_series(b.start_date, b.end_date, '1 day') d WHERE b.task_id LIKE 'legacy_bench_%'`,
		`UPDATE batch_days SET finished_at = NULL WHERE dataset = '` + ds + `' AND status = 'pending'`,
		`VACUUM ANALYZE batch_days`, `VACUUM ANALYZE coverage`,
	}
	for _, sql := range seed {
		_, err := p.Exec(ctx, sql)
		require.NoError(b, err)
	}
	var stats market.SyncStats
	for b.Loop() {
		days, s, err := store.SyncDays(ctx, p, store.SyncDayQuery{Dataset: ds, Limit: 50})
		require.NoError(b, err)
		require.Len(b, days, 50)
		stats = s
	}
	b.ReportMetric(float64(stats.Total), "days")
}
