package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/source/demo"
	"github.com/marketsync/marketsync/internal/store"
)

func TestMain(m *testing.M) {
	if os.Getenv("MARKETSYNC_TEST_WORKER") != "" {
		os.Exit(runChildWorker())
	}
	pgtest.Main(m, "engine", store.Migrate)
}

// newPool returns a pool on a fresh, migrated database of the test's own, and the
// database's URL (for the processes a test starts).
func newPool(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	url := pgtest.NewDB(t)
	p, err := store.Open(context.Background(), url, 10)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p, url
}

func date(s string) time.Time {
	d, err := market.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func cal(t testing.TB) *calendar.Calendar {
	t.Helper()
	c, err := calendar.New()
	require.NoError(t, err)
	return c
}

// hookSource wraps the demo market with hooks tests use to fail, block or watch fetches.
type hookSource struct {
	inner  *demo.Source
	before func(ctx context.Context, ds market.Dataset, day time.Time) error
	wrap   func(ctx context.Context, day time.Time, rows market.Rows) market.Rows
}

func (s *hookSource) Name() string       { return s.inner.Name() }
func (s *hookSource) Datasets() []string { return s.inner.Datasets() }

func (s *hookSource) Fetch(ctx context.Context, ds market.Dataset, day time.Time) (market.Rows, error) {
	if s.before != nil {
		if err := s.before(ctx, ds, day); err != nil {
			return nil, err
		}
	}
	rows, err := s.inner.Fetch(ctx, ds, day)
	if err != nil || s.wrap == nil {
		return rows, err
	}
	return s.wrap(ctx, day, rows), nil
}

type env struct {
	pool   *pgxpool.Pool
	url    string // the database's
	cal    *calendar.Calendar
	demo   *demo.Source
	engine *engine.Engine
	queue  string
}

// setup builds an engine on a database of the test's own, running until the test ends.
func setup(t testing.TB, src engine.Source, cfg engine.Config) *env {
	t.Helper()
	p, url := newPool(t)
	return (&env{pool: p, url: url}).with(t, src, cfg)
}

// with builds another engine on e's database, running until the test ends: another
// process, as far as the queue can tell (give it a queue of its own to keep it off e's
// batches).
func (e *env) with(t testing.TB, src engine.Source, cfg engine.Config) *env {
	t.Helper()
	c := cal(t)
	d := demo.New(c, demo.Config{})
	if src == nil {
		src = d
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = 10 * time.Millisecond
	}
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := engine.New(context.Background(), e.pool, src, c, &cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = eng.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &env{pool: e.pool, url: e.url, cal: c, demo: d, engine: eng, queue: cfg.Queue}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// wait follows the batch until it finishes.
func (e *env) wait(t *testing.T, taskID string, timeout time.Duration) *market.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	snap, err := e.engine.Watch(ctx, taskID, 200*time.Millisecond, func(*market.Snapshot) {})
	require.NoError(t, err, "batch %s did not finish in %s", taskID, timeout)
	return snap
}

// waitFor follows the batch until cond holds.
func (e *env) waitFor(t *testing.T, taskID string, cond func(*market.Snapshot) bool) *market.Snapshot {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		snap, err := e.engine.Snapshot(context.Background(), taskID)
		require.NoError(t, err)
		if cond(snap) {
			return snap
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("condition not reached for %s", taskID)
	return nil
}

func (e *env) start(t *testing.T, start, end string, force bool) *market.Snapshot {
	t.Helper()
	snap, err := e.engine.Start(context.Background(), market.Spec{Start: date(start), End: date(end), Force: force, CreatedBy: "test"})
	require.NoError(t, err)
	return snap
}

// dayChecksum fingerprints the rows of one day.
func dayChecksum(t *testing.T, p *pgxpool.Pool, day time.Time) (int, string) {
	t.Helper()
	var n int
	var sum string
	err := p.QueryRow(context.Background(), `
		SELECT count(*), coalesce(md5(string_agg(b::text, '|' ORDER BY ts_code)), '')
		FROM daily_bar b WHERE trade_date = $1`, day).Scan(&n, &sum)
	require.NoError(t, err)
	return n, sum
}

// demoCount counts the demo source's rows for a day.
func demoCount(t *testing.T, d *demo.Source, day time.Time) int {
	t.Helper()
	ds, _ := market.LookupDataset("daily")
	rows, err := d.Fetch(context.Background(), ds, day)
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		n++
	}
	require.NoError(t, rows.Err())
	return n
}

func TestSyncTwoMonthsLoadsEveryTradingDayOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, engine.Config{})
	snap := e.start(t, "2025-09-01", "2025-10-31", false)
	require.Equal(t, 61, snap.Total)
	require.Equal(t, 39, snap.TradingDays)
	require.Equal(t, 22, snap.Skipped, "weekends and holidays are skipped at creation")

	final := e.wait(t, snap.TaskID, 2*time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status)
	require.Equal(t, 39, final.Success)
	require.Equal(t, 22, final.Skipped)
	require.Equal(t, 0, final.Failed)
	require.Equal(t, 61, final.Current)
	require.Equal(t, 100.0, final.ProgressPercent)
	require.NotNil(t, final.EndTime)
	require.NotNil(t, final.DurationSeconds)
	require.Nil(t, final.EstimatedCompletion)
	require.Contains(t, final.Message, "completed: 39 loaded, 0 already loaded, 0 failed in ")

	days, err := e.cal.TradingDays(date("2025-09-01"), date("2025-10-31"))
	require.NoError(t, err)
	var loadedDays int
	require.NoError(t, e.pool.QueryRow(context.Background(),
		"SELECT count(DISTINCT trade_date) FROM daily_bar WHERE trade_date BETWEEN '2025-09-01' AND '2025-10-31'").Scan(&loadedDays))
	require.Equal(t, 39, loadedDays)
	var total int64
	for _, d := range days {
		n, _ := dayChecksum(t, e.pool, d)
		require.Equal(t, demoCount(t, e.demo, d), n, "rows of %s", d.Format(market.DateLayout))
		total += int64(n)
	}
	require.Equal(t, total, final.RowsLoaded)

	// A second run skips every day without asking the source.
	var fetched atomic.Int64
	e2 := e.with(t, &hookSource{inner: e.demo, before: func(context.Context, market.Dataset, time.Time) error {
		fetched.Add(1)
		return nil
	}}, engine.Config{Queue: "again"})
	again := e2.wait(t, e2.start(t, "2025-09-01", "2025-10-31", false).TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, again.Status)
	require.Equal(t, 61, again.Skipped)
	require.Equal(t, 0, again.Success)
	require.Zero(t, fetched.Load())

	// --force reloads and reproduces identical rows.
	before := map[time.Time]string{}
	for _, d := range days[:5] {
		_, before[d] = dayChecksum(t, e.pool, d)
	}
	forced := e.wait(t, e.start(t, "2025-09-01", "2025-09-05", true).TaskID, time.Minute)
	require.Equal(t, 5, forced.Success)
	for _, d := range days[:5] {
		_, sum := dayChecksum(t, e.pool, d)
		require.Equal(t, before[d], sum)
	}
}

func TestNoTradingDaysCompletesAtOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, engine.Config{})
	snap := e.start(t, "2025-10-01", "2025-10-08", false)
	require.Equal(t, market.BatchCompleted, snap.Status)
	require.Equal(t, 8, snap.Skipped)
	require.Equal(t, 100.0, snap.ProgressPercent)
}

func TestTaskIDsAreUnique(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, engine.Config{Parallelism: -1})
	clock := time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)
	e2, err := engine.New(context.Background(), e.pool, e.demo, e.cal, &engine.Config{Parallelism: -1, Queue: e.queue, Now: func() time.Time { return clock }})
	require.NoError(t, err)
	spec := market.Spec{Start: date("2025-10-01"), End: date("2025-10-05")}
	a, err := e2.Start(context.Background(), spec)
	require.NoError(t, err)
	b, err := e2.Start(context.Background(), spec)
	require.NoError(t, err)
	base := fmt.Sprintf("2025-10-01_2025-10-05_%d", clock.Unix())
	require.Equal(t, base, a.TaskID)
	require.Equal(t, base+"-2", b.TaskID)
}

func TestBadSpecsCreateNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, engine.Config{Parallelism: -1})
	var before int
	require.NoError(t, e.pool.QueryRow(context.Background(), "SELECT count(*) FROM batches").Scan(&before))
	cases := map[string]struct {
		spec market.Spec
		want error
	}{
		"end before start": {market.Spec{Start: date("2025-10-09"), End: date("2025-10-01")}, market.ErrInvalidRange},
		"outside calendar": {market.Spec{Start: date("1980-01-02"), End: date("1980-01-08")}, market.ErrOutsideCalendar},
		"unknown dataset":  {market.Spec{Datasets: []string{"minute"}, Start: date("2025-10-09"), End: date("2025-10-09")}, market.ErrUnknownDataset},
		"priority":         {market.Spec{Start: date("2025-10-09"), End: date("2025-10-09"), Priority: 9}, market.ErrInvalidInput},
		"no dates":         {market.Spec{}, market.ErrInvalidDate},
	}
	for name, c := range cases {
		_, err := e.engine.Start(context.Background(), c.spec)
		require.ErrorIs(t, err, c.want, name)
		require.True(t, market.IsInputError(err), name)
	}
	var after int
	require.NoError(t, e.pool.QueryRow(context.Background(), "SELECT count(*) FROM batches").Scan(&after))
	require.Equal(t, before, after)
}

func TestStartRefusesWhatCannotRun(t *testing.T) {
	t.Parallel()
	// 2025-10-09 (a Thursday) at 16:30 China time: its data is not out until 17:00.
	now := time.Date(2025, 10, 9, 16, 30, 0, 0, market.ExchangeZone)
	e := setup(t, nil, engine.Config{Parallelism: -1, MaxBatchDays: 400, Now: func() time.Time { return now }})
	ctx := context.Background()
	start := func(spec market.Spec) error {
		_, err := e.engine.Start(ctx, spec)
		return err
	}

	err := start(market.Spec{Days: []time.Time{date("2025-09-30"), date("2025-10-01"), date("2025-10-04")}})
	require.ErrorIs(t, err, market.ErrNotTradingDay)
	require.True(t, market.IsInputError(err))
	require.Contains(t, err.Error(), "2025-10-01, 2025-10-04")
	require.NotContains(t, err.Error(), "2025-09-30")

	err = start(market.Spec{Start: date("2025-10-06"), End: date("2025-10-10")})
	require.ErrorIs(t, err, market.ErrNotPublished)
	require.Contains(t, err.Error(), "2025-10-09, 2025-10-10")
	require.Contains(t, err.Error(), "17:00")
	require.Contains(t, err.Error(), "the latest day ready now is 2025-09-30", "the National Day holiday runs to 10-08")
	latest, ok := e.engine.LatestDay(nil)
	require.True(t, ok)
	require.Equal(t, date("2025-09-30"), latest)

	err = start(market.Spec{Start: date("2024-01-01"), End: date("2025-06-30")})
	require.ErrorIs(t, err, market.ErrTooLarge)
	require.Contains(t, err.Error(), "547 days")

	// Nothing was created by any of them; the same chosen days without the closed ones start.
	snap, err := e.engine.Start(ctx, market.Spec{Days: []time.Time{date("2025-09-30"), date("2025-09-29"), date("2025-09-30")}})
	require.NoError(t, err)
	require.Equal(t, 2, snap.Total, "chosen days, duplicates dropped")
	require.Equal(t, "2025-09-29", snap.StartDate)
	require.Equal(t, "2025-09-30", snap.EndDate)
	require.Equal(t, 0, snap.Skipped)

	// A weekend at the end of a range is no reason to refuse, even in the future.
	_, err = e.engine.Start(ctx, market.Spec{Start: date("2025-10-04"), End: date("2025-10-05")})
	require.NoError(t, err)
}
