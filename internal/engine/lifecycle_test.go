package engine_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/source/demo"
	"github.com/marketsync/marketsync/internal/store"
)

// gate blocks a day's row stream after some rows until released, so a test can act while
// a day is half-copied.
type gate struct {
	market.Rows
	ctx     context.Context
	n       int
	after   int
	reached func()
}

func (g *gate) Next() bool {
	g.n++
	if g.n == g.after {
		g.reached()
		<-g.ctx.Done()
		return false
	}
	return g.Rows.Next()
}

func (g *gate) Err() error {
	if err := g.ctx.Err(); err != nil {
		return err
	}
	return g.Rows.Err()
}

func TestCancelMidDayKeepsThePreviousRows(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, engine.Config{})
	day := date("2025-08-06")
	first := e.wait(t, e.start(t, "2025-08-06", "2025-08-06", false).TaskID, time.Minute)
	require.Equal(t, 1, first.Success)
	n, sum := dayChecksum(t, e.pool, day)
	require.Positive(t, n)

	reached := make(chan struct{})
	var once sync.Once
	gated := e.with(t, &hookSource{inner: e.demo, wrap: func(ctx context.Context, _ time.Time, rows market.Rows) market.Rows {
		return &gate{Rows: rows, ctx: ctx, after: 3000, reached: func() { once.Do(func() { close(reached) }) }}
	}}, engine.Config{Queue: "gated"})
	snap := gated.start(t, "2025-08-04", "2025-08-08", true)
	select {
	case <-reached:
	case <-time.After(30 * time.Second):
		t.Fatal("no day reached the middle of its COPY")
	}
	asked := time.Now()
	require.NoError(t, gated.engine.Cancel(context.Background(), snap.TaskID, market.Actor{By: "test"}))
	final := gated.wait(t, snap.TaskID, 10*time.Second)
	require.Less(t, time.Since(asked), 2*time.Second, "cancel took too long") // generous for -race on 2 cores
	require.Equal(t, market.BatchCancelled, final.Status)
	require.Equal(t, 0, final.Success)
	require.Equal(t, 5, final.Cancelled)
	require.NotNil(t, final.CancelledBy)
	n2, sum2 := dayChecksum(t, e.pool, day)
	require.Equal(t, n, n2)
	require.Equal(t, sum, sum2, "the cancelled day's previous rows are intact")

	err := gated.engine.Cancel(context.Background(), snap.TaskID, market.Actor{By: "test"})
	require.ErrorIs(t, err, market.ErrConflict, "a finished batch cannot be cancelled")
}

func TestTransientErrorsAreRetriedAndKept(t *testing.T) {
	t.Parallel()
	var calls sync.Map
	src := &hookSource{inner: demo.New(cal(t), demo.Config{}), before: func(_ context.Context, _ market.Dataset, day time.Time) error {
		v, _ := calls.LoadOrStore(day, new(atomic.Int32))
		n := v.(*atomic.Int32).Add(1)
		switch day.Format(market.DateLayout) {
		case "2025-07-08":
			if n == 1 {
				return errors.New("connection timeout")
			}
		case "2025-07-09":
			return fmt.Errorf("connection reset by peer (call %d)", n)
		}
		return nil
	}}
	e := setup(t, src, engine.Config{MaxAttempts: 3})
	final := e.wait(t, e.start(t, "2025-07-07", "2025-07-10", false).TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status, "a batch with failed days still completes")
	require.Equal(t, 3, final.Success)
	require.Equal(t, 1, final.Failed)
	require.Len(t, final.Errors, 1)
	require.Equal(t, "2025-07-09", final.Errors[0].Date)
	require.Contains(t, final.Errors[0].Error, "connection reset by peer (call 3)")
	require.Contains(t, final.Message, "3 loaded, 0 already loaded, 1 failed")

	recs, total, err := e.engine.Errors(context.Background(), final.TaskID, 10, 0)
	require.NoError(t, err)
	require.Equal(t, 4, total, "one failed attempt of 07-08 and three of 07-09")
	require.Len(t, recs, 4)
	require.True(t, recs[0].Final)
	require.Equal(t, 3, recs[0].Attempt)

	// Retry runs the failed day again; this time it fails again, on new attempts.
	n, err := e.engine.Retry(context.Background(), final.TaskID, market.Actor{By: "test"})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	again := e.wait(t, final.TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, again.Status)
	require.Equal(t, 1, again.Failed)
	_, total, err = e.engine.Errors(context.Background(), final.TaskID, 10, 0)
	require.NoError(t, err)
	require.Equal(t, 7, total)
}

func TestSourceRefusalFailsTheBatch(t *testing.T) {
	t.Parallel()
	src := &hookSource{inner: demo.New(cal(t), demo.Config{}), before: func(context.Context, market.Dataset, time.Time) error {
		return fmt.Errorf("%w: invalid token", market.ErrSourceRefused)
	}}
	e := setup(t, src, engine.Config{Parallelism: 1})
	final := e.wait(t, e.start(t, "2025-06-02", "2025-06-13", false).TaskID, time.Minute)
	require.Equal(t, market.BatchFailed, final.Status)
	require.Equal(t, 1, final.Failed)
	require.Positive(t, final.Cancelled)
	require.Contains(t, final.Message, "invalid token")
}

func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var started atomic.Int32
	src := &hookSource{inner: demo.New(cal(t), demo.Config{}), before: func(ctx context.Context, _ market.Dataset, _ time.Time) error {
		started.Add(1)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	e := setup(t, src, engine.Config{Parallelism: 1})
	snap := e.start(t, "2025-05-06", "2025-05-16", false)
	e.waitFor(t, snap.TaskID, func(s *market.Snapshot) bool { return s.Running == 1 })
	require.NoError(t, e.engine.Pause(context.Background(), snap.TaskID, market.Actor{By: "test"}))
	require.ErrorIs(t, e.engine.Pause(context.Background(), snap.TaskID, market.Actor{By: "test"}), market.ErrConflict)
	close(release)
	paused := e.waitFor(t, snap.TaskID, func(s *market.Snapshot) bool { return s.Running == 0 })
	require.Equal(t, market.BatchPaused, paused.Status)
	require.Equal(t, 1, paused.Success, "the day in flight finishes")
	time.Sleep(300 * time.Millisecond)
	still, err := e.engine.Snapshot(context.Background(), snap.TaskID)
	require.NoError(t, err)
	require.Equal(t, 1, still.Success, "no new day starts while paused")
	require.Equal(t, market.BatchPaused, still.Status)

	require.NoError(t, e.engine.Resume(context.Background(), snap.TaskID, market.Actor{By: "test"}))
	final := e.wait(t, snap.TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status)
	require.Equal(t, 9, final.Success)
	require.Equal(t, 2, final.Skipped)
}

// concurrency tracks how many fetches of each day run at once.
type concurrency struct {
	mu      sync.Mutex
	now     map[time.Time]int
	maxSeen int
}

func (c *concurrency) enter(day time.Time) func() {
	c.mu.Lock()
	c.now[day]++
	c.maxSeen = max(c.maxSeen, c.now[day])
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		c.now[day]--
		c.mu.Unlock()
	}
}

// tracked counts a day's row stream as loading from its first row to its end: the
// stream is read by COPY, inside the day's transaction.
type tracked struct {
	market.Rows
	c     *concurrency
	day   time.Time
	leave func()
}

func (r *tracked) Next() bool {
	if r.leave == nil {
		r.leave = r.c.enter(r.day)
		time.Sleep(20 * time.Millisecond)
	}
	if r.Rows.Next() {
		return true
	}
	r.leave()
	return false
}

func TestOverlappingBatchesNeverLoadADayTwiceAtOnce(t *testing.T) {
	t.Parallel()
	c := &concurrency{now: map[time.Time]int{}}
	inner := demo.New(cal(t), demo.Config{})
	src := &hookSource{inner: inner, wrap: func(_ context.Context, day time.Time, rows market.Rows) market.Rows {
		return &tracked{Rows: rows, c: c, day: day}
	}}
	a := setup(t, src, engine.Config{Parallelism: 3})
	b := a.with(t, src, engine.Config{Queue: "other", Parallelism: 3})
	s1 := a.start(t, "2025-04-07", "2025-04-25", true)
	s2 := b.start(t, "2025-04-07", "2025-04-25", true)
	f1 := a.wait(t, s1.TaskID, time.Minute)
	f2 := b.wait(t, s2.TaskID, time.Minute)
	require.Equal(t, 15, f1.Success)
	require.Equal(t, 15, f2.Success)
	require.Equal(t, 1, c.maxSeen, "a day was loaded by two batches at once")
	for _, d := range []string{"2025-04-07", "2025-04-25"} {
		n, _ := dayChecksum(t, a.pool, date(d))
		require.Equal(t, demoCount(t, inner, date(d)), n)
	}
}

// runChildWorker is a worker process for TestKilledWorker: it works one queue with a
// slow source until it is killed.
func runChildWorker() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	c, err := calendar.New()
	if err != nil {
		return 1
	}
	pool, err := store.Open(ctx, os.Getenv("DATABASE_URL"), 10)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	latency := 150 * time.Millisecond
	if v, err := time.ParseDuration(os.Getenv("MARKETSYNC_TEST_LATENCY")); err == nil {
		latency = v
	}
	src := demo.New(c, demo.Config{Latency: latency})
	e, err := engine.New(ctx, pool, src, c, &engine.Config{
		Queue: os.Getenv("MARKETSYNC_TEST_WORKER"), Parallelism: 2,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := e.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestKilledWorkerLosesNothing(t *testing.T) {
	t.Parallel()
	// This process only queues and watches until the worker is gone.
	e := setup(t, nil, engine.Config{Parallelism: -1})
	snap := e.start(t, "2025-03-03", "2025-03-28", true)

	child := exec.Command(os.Args[0], "-test.run=^$")
	// A child never outlives this test process, even when it dies.
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	child.Env = append(os.Environ(), "MARKETSYNC_TEST_WORKER="+river.QueueDefault, "DATABASE_URL="+e.url)
	child.Stderr = os.Stderr
	require.NoError(t, child.Start())
	mid := e.waitFor(t, snap.TaskID, func(s *market.Snapshot) bool { return s.Success >= 3 && s.Running > 0 })
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	dead, err := e.engine.Snapshot(context.Background(), snap.TaskID)
	require.NoError(t, err)
	var lost []string
	for _, f := range dead.InFlight {
		lost = append(lost, f.Date)
	}
	t.Logf("killed the worker at %d/%d with %v running", mid.Current, mid.Total, lost)

	// A new process takes the dead one's days back, first, and completes the batch.
	var mu sync.Mutex
	var order []string
	src := &hookSource{inner: demo.New(cal(t), demo.Config{}), before: func(_ context.Context, _ market.Dataset, day time.Time) error {
		mu.Lock()
		order = append(order, day.Format(market.DateLayout))
		mu.Unlock()
		return nil
	}}
	restarted := e.with(t, src, engine.Config{Parallelism: 1})
	final := restarted.wait(t, snap.TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status)
	require.Equal(t, 20, final.Success)
	require.Equal(t, 0, final.Failed)
	days, err := e.cal.TradingDays(date("2025-03-03"), date("2025-03-28"))
	require.NoError(t, err)
	for _, d := range days {
		n, _ := dayChecksum(t, e.pool, d)
		require.Equal(t, demoCount(t, e.demo, d), n, "no gaps, no duplicates on %s", d.Format(market.DateLayout))
	}
	// The worker ran two days at once; it may also have taken jobs it had not claimed.
	mu.Lock()
	require.GreaterOrEqual(t, len(order), 2)
	require.Subset(t, order[:2], lost, "the dead worker's days go first (fetched: %v)", order)
	mu.Unlock()

	// River itself reads no job of the batch as running: the dead worker's jobs ended.
	rc, err := river.NewClient(riverpgxv5.New(e.pool), &river.Config{})
	require.NoError(t, err)
	running, err := rc.JobList(context.Background(), river.NewJobListParams().States(rivertype.JobStateRunning))
	require.NoError(t, err)
	require.Empty(t, running.Jobs)
	cancelled, err := rc.JobList(context.Background(), river.NewJobListParams().States(rivertype.JobStateCancelled))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(cancelled.Jobs), len(lost), "each lost job ends cancelled")
	require.LessOrEqual(t, len(cancelled.Jobs), 2)
}

func TestUrgentBatchesGoFirst(t *testing.T) {
	t.Parallel()
	// Both batches are queued before any worker runs.
	q := setup(t, nil, engine.Config{Parallelism: -1})
	low, err := q.engine.Start(context.Background(), market.Spec{Start: date("2025-02-10"), End: date("2025-02-21"), Force: true, Priority: market.PriorityLow})
	require.NoError(t, err)
	urgent, err := q.engine.Start(context.Background(), market.Spec{Start: date("2025-02-24"), End: date("2025-02-26"), Force: true, Priority: market.PriorityUrgent})
	require.NoError(t, err)

	w := q.with(t, nil, engine.Config{Parallelism: 1})
	u := w.wait(t, urgent.TaskID, time.Minute)
	l := w.wait(t, low.TaskID, time.Minute)
	require.Equal(t, 3, u.Success)
	require.Equal(t, 10, l.Success)
	var lowStartedFirst int
	require.NoError(t, w.pool.QueryRow(context.Background(), `
		SELECT count(*) FROM batch_days d JOIN batches b ON b.id = d.batch_id
		WHERE b.task_id = $1 AND d.started_at < (
			SELECT max(d2.finished_at) FROM batch_days d2 JOIN batches b2 ON b2.id = d2.batch_id WHERE b2.task_id = $2)`,
		low.TaskID, urgent.TaskID).Scan(&lowStartedFirst))
	require.Zero(t, lowStartedFirst, "a low-priority day started before the urgent batch was done")
}

func TestServersAdoptTheBatchOfADeadCLI(t *testing.T) {
	t.Parallel()
	slow := demo.New(cal(t), demo.Config{Latency: 100 * time.Millisecond})
	p, _ := newPool(t)
	cli, err := engine.New(context.Background(), p, slow, cal(t), &engine.Config{Queue: "cli_adopt", Parallelism: 1,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ctx, stopCLI := context.WithCancel(context.Background())
	cliDone := make(chan error, 1)
	go func() { cliDone <- cli.Run(ctx) }()
	snap, err := cli.Start(context.Background(), market.Spec{Start: date("2025-01-06"), End: date("2025-01-24"), Force: true})
	require.NoError(t, err)

	server := (&env{pool: p}).with(t, nil, engine.Config{Adopt: true, SweepInterval: 200 * time.Millisecond})
	server.waitFor(t, snap.TaskID, func(s *market.Snapshot) bool { return s.Success >= 2 })
	mid, err := server.engine.Snapshot(context.Background(), snap.TaskID)
	require.NoError(t, err)
	require.Less(t, mid.Success, 15, "the CLI's batch is left to the CLI while it lives")

	// The CLI goes away mid-batch; a server finishes its batch.
	stopCLI()
	require.NoError(t, <-cliDone)
	final := server.wait(t, snap.TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status)
	require.Equal(t, 15, final.Success)
	for _, d := range []string{"2025-01-06", "2025-01-24"} {
		n, _ := dayChecksum(t, p, date(d))
		require.Equal(t, demoCount(t, server.demo, date(d)), n)
	}
}

func TestAttemptsFailedDuringAnOutageAreRecorded(t *testing.T) {
	t.Parallel()
	direct, url := newPool(t)
	proxy := pgtest.NewProxy(t, url)
	p, err := store.Open(context.Background(), proxy.URL(), 10)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	var once sync.Once
	src := &hookSource{inner: demo.New(cal(t), demo.Config{}), before: func(_ context.Context, _ market.Dataset, day time.Time) error {
		if day.Equal(date("2023-08-09")) {
			failed := false
			once.Do(func() {
				// The upstream fails just as the database goes away: the attempt's
				// bookkeeping has to wait for the database.
				proxy.Down()
				failed = true
				go func() {
					time.Sleep(2 * time.Second)
					proxy.Up()
				}()
			})
			if failed {
				return errors.New("upstream broke during the outage")
			}
		}
		return nil
	}}
	c := cal(t)
	e, err := engine.New(context.Background(), p, src, c, &engine.Config{Parallelism: 1,
		RetryBackoff: 10 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// Watched by an engine on the direct pool: the working one's goes through the proxy.
	watcher, err := engine.New(context.Background(), direct, src, c, &engine.Config{Parallelism: -1})
	require.NoError(t, err)
	w := &env{pool: direct, cal: c, engine: watcher}
	snap, err := e.Start(context.Background(), market.Spec{Start: date("2023-08-07"), End: date("2023-08-11"), Force: true})
	require.NoError(t, err)
	final := w.wait(t, snap.TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status)
	require.Equal(t, 5, final.Success)
	recs, total, err := e.Errors(context.Background(), snap.TaskID, 10, 0)
	require.NoError(t, err)
	require.Equal(t, 1, total, "the attempt that failed during the outage is on record")
	require.Equal(t, "2023-08-09", recs[0].Date)
	require.Contains(t, recs[0].Message, "upstream broke during the outage")
	require.False(t, recs[0].Final)
}
