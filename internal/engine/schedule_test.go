package engine_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
)

// fakeClock is a clock tests set by hand.
type fakeClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.Set(t)
	return c
}

func (c *fakeClock) Now() time.Time  { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// china is a time in exchange time.
func china(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, market.ExchangeZone)
}

// observed records what a ScheduleObserver hears.
type observed struct {
	mu                    sync.Mutex
	fired, skipped, ended []market.ScheduleRun
}

func (o *observed) ScheduleFired(_ context.Context, r market.ScheduleRun) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fired = append(o.fired, r)
}

func (o *observed) ScheduleSkipped(_ context.Context, r market.ScheduleRun) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.skipped = append(o.skipped, r)
}

func (o *observed) ScheduleEnded(_ context.Context, r market.ScheduleRun) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ended = append(o.ended, r)
}

func (o *observed) counts() (fired, skipped, ended int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.fired), len(o.skipped), len(o.ended)
}

// daily17 is the daily dataset's schedule at 17:30 on the demo source.
var daily1730 = market.ScheduleInput{Dataset: "daily", Source: "demo", At: market.DefaultScheduleTime, Enabled: true}

// check runs one check and returns its firings.
func check(t *testing.T, s *engine.Scheduler) []market.ScheduleRun {
	t.Helper()
	runs, err := s.Check(context.Background())
	require.NoError(t, err)
	return runs
}

func scheduledBatches(t *testing.T, e *env) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), "SELECT count(*) FROM batches WHERE created_by = 'schedule'").Scan(&n))
	return n
}

func TestScheduleCatchesUpAWeekendAndNeverRunsTwoBatches(t *testing.T) {
	t.Parallel()
	// Workers off: the batches a schedule starts stay queued, "still running".
	clock := newClock(china(2025, 10, 16, 18, 0)) // Thursday
	e := setup(t, nil, engine.Config{Parallelism: -1, Now: clock.Now})
	obs := &observed{}
	s := engine.NewScheduler(e.engine, &engine.ScheduleConfig{Observer: obs})
	ctx := context.Background()
	_, err := e.pool.Exec(ctx, "INSERT INTO coverage (dataset, day, rows) VALUES ('daily', '2025-10-16', 1)")
	require.NoError(t, err)
	sch, err := s.SaveSchedule(ctx, daily1730, market.Actor{By: market.OriginWeb})
	require.NoError(t, err)
	require.Equal(t, date("2025-10-16"), *sch.LastDay, "a new schedule owes nothing before its next time")
	require.Empty(t, check(t, s))
	list, err := s.Schedules(ctx)
	require.NoError(t, err)
	require.Equal(t, china(2025, 10, 17, 17, 30), *list[0].NextRun)

	// Down from Friday morning to Monday evening: one batch, Friday to Monday.
	clock.Set(china(2025, 10, 20, 18, 5))
	runs := check(t, s)
	require.Len(t, runs, 1)
	require.Equal(t, market.ScheduleStarted, runs[0].Outcome)
	require.Equal(t, date("2025-10-20"), runs[0].Day)
	snap, err := e.engine.Snapshot(ctx, runs[0].TaskID)
	require.NoError(t, err)
	require.Equal(t, "2025-10-17", snap.StartDate)
	require.Equal(t, "2025-10-20", snap.EndDate)
	require.Equal(t, 2, snap.TradingDays)
	require.Equal(t, "schedule", snap.CreatedBy)
	require.Empty(t, check(t, s), "fired once for Monday")

	// A restart between firings: a new process's scheduler owes nothing more today.
	other := e.with(t, nil, engine.Config{Parallelism: -1, Now: clock.Now})
	require.Empty(t, check(t, engine.NewScheduler(other.engine, nil)))

	// Tuesday: Monday's batch still runs, so no second batch.
	clock.Set(china(2025, 10, 21, 17, 31))
	runs = check(t, s)
	require.Len(t, runs, 1)
	require.Equal(t, market.ScheduleSkipped, runs[0].Outcome)
	require.Contains(t, runs[0].Message, "still queued")
	require.Equal(t, 1, scheduledBatches(t, e))
	list, err = s.Schedules(ctx)
	require.NoError(t, err)
	require.Equal(t, snap.TaskID, list[0].LastTaskID, "the batch still running stays the schedule's")
	require.Equal(t, market.ScheduleSkipped, list[0].LastOutcome)

	// It ends (cancelled): the observer hears it once; Wednesday catches up from Friday.
	require.NoError(t, e.engine.Cancel(ctx, snap.TaskID, market.Actor{By: "test"}))
	clock.Set(china(2025, 10, 22, 17, 31))
	runs = check(t, s)
	require.Len(t, runs, 1)
	snap, err = e.engine.Snapshot(ctx, runs[0].TaskID)
	require.NoError(t, err)
	require.Equal(t, "2025-10-17", snap.StartDate)
	require.Equal(t, "2025-10-22", snap.EndDate)
	fired, skipped, ended := obs.counts()
	require.Equal(t, []int{2, 1, 1}, []int{fired, skipped, ended})
	require.Equal(t, market.BatchCancelled, obs.ended[0].BatchStatus)
	check(t, s)
	_, _, ended = obs.counts()
	require.Equal(t, 1, ended, "an end is reported once")

	// Disabled, it fires no more.
	in := daily1730
	in.Enabled = false
	_, err = s.SaveSchedule(ctx, in, market.Actor{By: market.OriginWeb})
	require.NoError(t, err)
	clock.Set(china(2025, 10, 23, 17, 31))
	require.Empty(t, check(t, s))
}

func TestScheduleCatchesUpNationalDay(t *testing.T) {
	t.Parallel()
	clock := newClock(china(2024, 9, 27, 18, 0)) // Friday before the holiday
	e := setup(t, nil, engine.Config{Now: clock.Now})
	s := engine.NewScheduler(e.engine, nil)
	ctx := context.Background()
	e.wait(t, e.start(t, "2024-09-27", "2024-09-27", false).TaskID, time.Minute)
	_, err := s.SaveSchedule(ctx, daily1730, market.Actor{By: market.OriginWeb})
	require.NoError(t, err)

	// During the holiday (closed October 1 to 7) only Monday September 30 was owed.
	clock.Set(china(2024, 10, 4, 12, 0))
	require.Len(t, check(t, s), 1)
	list, err := s.Schedules(ctx)
	require.NoError(t, err)
	require.Equal(t, china(2024, 10, 8, 17, 30), *list[0].NextRun, "the next run skips the holiday")
	first := list[0].LastTaskID
	e.wait(t, first, time.Minute)

	// Down from September 30 to October 8: one batch of what is missing, October 8.
	clock.Set(china(2024, 10, 8, 17, 31))
	runs := check(t, s)
	require.Len(t, runs, 1)
	final := e.wait(t, runs[0].TaskID, time.Minute)
	require.Equal(t, "2024-10-08", final.StartDate)
	require.Equal(t, "2024-10-08", final.EndDate)
	require.Equal(t, market.BatchCompleted, final.Status)
	require.Equal(t, 1, final.Success)
	loaded, err := e.engine.Coverage(ctx, "daily", date("2024-09-27"), date("2024-10-08"))
	require.NoError(t, err)
	require.Equal(t, 3, loaded.Loaded, "Sept 27, Sept 30 and Oct 8")
	require.Zero(t, loaded.Missing)
}

func TestScheduleFirstRunAndNothingToDo(t *testing.T) {
	t.Parallel()
	clock := newClock(china(2025, 10, 15, 12, 0)) // Wednesday
	e := setup(t, nil, engine.Config{Now: clock.Now})
	s := engine.NewScheduler(e.engine, nil)
	ctx := context.Background()
	_, err := s.SaveSchedule(ctx, daily1730, market.Actor{By: market.OriginWeb})
	require.NoError(t, err)

	// Nothing was ever loaded: just the day at hand.
	clock.Set(china(2025, 10, 15, 17, 30))
	runs := check(t, s)
	require.Len(t, runs, 1)
	final := e.wait(t, runs[0].TaskID, time.Minute)
	require.Equal(t, "2025-10-15", final.StartDate)
	require.Equal(t, "2025-10-15", final.EndDate)

	// Thursday's day was loaded by hand before the schedule's time: nothing to do.
	clock.Set(china(2025, 10, 16, 17, 20))
	e.wait(t, e.start(t, "2025-10-16", "2025-10-16", false).TaskID, time.Minute)
	clock.Set(china(2025, 10, 16, 17, 31))
	runs = check(t, s)
	require.Len(t, runs, 1)
	require.Equal(t, market.ScheduleNothingToDo, runs[0].Outcome)
	require.Equal(t, "loaded through 2025-10-16", runs[0].Message)
	require.Equal(t, 1, scheduledBatches(t, e))
}

func TestScheduleFiresOnceAcrossProcesses(t *testing.T) {
	t.Parallel()
	clock := newClock(china(2025, 10, 15, 12, 0))
	e := setup(t, nil, engine.Config{Parallelism: -1, Now: clock.Now})
	ctx := context.Background()
	schedulers := []*engine.Scheduler{engine.NewScheduler(e.engine, nil)}
	for range 2 {
		other := e.with(t, nil, engine.Config{Parallelism: -1, Now: clock.Now})
		schedulers = append(schedulers, engine.NewScheduler(other.engine, nil))
	}
	for _, in := range []market.ScheduleInput{daily1730, {Dataset: "adj_factor", Source: "demo", At: market.DefaultScheduleTime, Enabled: true}} {
		_, err := schedulers[0].SaveSchedule(ctx, in, market.Actor{By: market.OriginWeb})
		require.NoError(t, err)
	}

	clock.Set(china(2025, 10, 15, 17, 30))
	var fired atomic.Int64
	var wg sync.WaitGroup
	for _, s := range schedulers {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runs, err := s.Check(ctx)
				require.NoError(t, err)
				fired.Add(int64(len(runs)))
			}()
		}
	}
	wg.Wait()
	require.Equal(t, int64(2), fired.Load(), "each schedule fired once, by one process")
	require.Equal(t, 2, scheduledBatches(t, e))
}

func TestScheduleSeedsOnlyAnEmptyTable(t *testing.T) {
	t.Parallel()
	clock := newClock(china(2025, 10, 15, 12, 0))
	e := setup(t, nil, engine.Config{Parallelism: -1, Now: clock.Now})
	ctx := context.Background()
	seeds, off, err := market.ParseScheduleSeeds("")
	require.NoError(t, err)
	require.False(t, off)
	s := engine.NewScheduler(e.engine, &engine.ScheduleConfig{Seeds: seeds})
	require.NoError(t, s.CheckSeeds())
	n, err := s.Seed(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	other, _, err := market.ParseScheduleSeeds("adj_factor@18:00")
	require.NoError(t, err)
	n, err = engine.NewScheduler(e.engine, &engine.ScheduleConfig{Seeds: other}).Seed(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "the settings page decides once there are schedules")
	list, err := s.Schedules(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "daily", list[0].Dataset)
	require.Equal(t, "demo", list[0].Source, "the default source")
	require.Equal(t, "17:30", list[0].At.String())

	bad, _, err := market.ParseScheduleSeeds("daily/tushare@17:30")
	require.NoError(t, err)
	require.True(t, market.IsInputError(engine.NewScheduler(e.engine, &engine.ScheduleConfig{Seeds: bad}).CheckSeeds()))
}

// TestScheduleAlertsTheWebhooks: without an observer of its own, a scheduler tells the
// webhooks that asked when a run did not start and when a scheduled batch ended badly.
func TestScheduleAlertsTheWebhooks(t *testing.T) {
	t.Parallel()
	clock := newClock(china(2025, 10, 16, 18, 0))
	e := setup(t, nil, engine.Config{Parallelism: -1, Now: clock.Now}) // no workers: jobs stay queued
	s := engine.NewScheduler(e.engine, nil)
	ctx := context.Background()
	_, err := e.pool.Exec(ctx, "INSERT INTO coverage (dataset, day, rows) VALUES ('daily', '2025-10-16', 1)")
	require.NoError(t, err)
	_, err = s.SaveSchedule(ctx, daily1730, market.Actor{By: market.OriginWeb})
	require.NoError(t, err)
	require.NoError(t, e.engine.SaveWebhook(ctx, &market.Webhook{Name: "ops", Format: market.FormatGeneric,
		URL: "http://127.0.0.1:1/hook", Enabled: true,
		Events: []market.AlertEvent{market.AlertScheduleMissed, market.AlertScheduleFailed}}, market.Actor{By: "test"}))
	alerts := func() []string {
		rows, err := e.pool.Query(ctx, `SELECT args->'event'->>'event' FROM river_job WHERE kind = 'marketsync.alert' ORDER BY id`)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}

	clock.Set(china(2025, 10, 17, 17, 31))
	runs := check(t, s)
	require.Len(t, runs, 1)
	require.Equal(t, market.ScheduleStarted, runs[0].Outcome)
	require.Empty(t, alerts(), "a run that started is no alert")

	clock.Set(china(2025, 10, 20, 17, 31))
	require.Equal(t, market.ScheduleSkipped, check(t, s)[0].Outcome)
	require.Equal(t, []string{"schedule_missed"}, alerts())

	require.NoError(t, e.engine.Cancel(ctx, runs[0].TaskID, market.Actor{By: "test"}))
	clock.Set(china(2025, 10, 21, 17, 31))
	check(t, s)
	require.Equal(t, []string{"schedule_missed", "schedule_failed"}, alerts(), "the cancelled batch ended badly")
}
