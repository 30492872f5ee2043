// Package engine runs batches: it turns a spec into per-day jobs on a PostgreSQL-backed
// River queue, loads each (dataset, trading day) in one transaction, and answers progress
// snapshots, cancel, pause, resume and retry. Every state lives in PostgreSQL; memory holds
// only the queue client and its connections.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/marketsync/marketsync/internal/alert"
	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/metrics"
	"github.com/marketsync/marketsync/internal/store"
)

// ProgressChannel is the PostgreSQL NOTIFY channel on which every change of a batch is
// announced, from whichever process made it; the payload is the batch's task id.
const ProgressChannel = "marketsync_progress"

// Source fetches one dataset's rows for one trading day, streaming them as produced (a
// local source) or whole (a network source fetches the day before returning; the day's
// transaction opens only after Fetch). Errors wrapping market.ErrSourceRefused fail the
// whole batch, market.ErrDatasetRefused the dataset, market.ErrQuotaExhausted the day;
// others are retried.
type Source interface {
	// Name names the source ("demo", "tushare"): batches and loaded days record it.
	Name() string
	// Datasets lists the datasets the source serves.
	Datasets() []string
	Fetch(ctx context.Context, ds market.Dataset, day time.Time) (market.Rows, error)
}

// Pacer is a source under rate limits: Pace is the least time one day of a dataset
// takes (its calls at the limit), which the ETA never undercuts.
type Pacer interface {
	Pace(dataset string) time.Duration
}

// Synthetic is what a source that makes its data up says: pages and the API say so.
type Synthetic interface {
	Synthetic() bool
}

// Config tunes an Engine. Zero values take the defaults noted on each field.
type Config struct {
	// Queue is the River queue this engine inserts into and works. Servers share
	// "default"; the CLI uses a queue of its own so it only ever runs its own batch.
	Queue string
	// Parallelism is how many days this process loads at once (default 2). Negative
	// means the engine only inserts and answers queries, and runs no workers.
	Parallelism int
	// MaxAttempts is how often a day is tried before it fails (default 3).
	MaxAttempts int
	// RetryBackoff is the wait before the second attempt, doubling after (default 1s).
	RetryBackoff time.Duration
	// FetchCooldown and FetchPollInterval tune River's fetch loop (defaults 2ms and
	// 250ms); River's own defaults (100ms, 1s) cap throughput at a few days a second.
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
	// DayTimeout bounds one attempt of one day, the source's rate-limit waits included
	// (default 5m; the sweep, not this, finds a dead worker's days).
	DayTimeout time.Duration
	// Adopt makes this engine take over the unfinished batches of queues whose processes
	// are all gone (a CLI killed mid-batch). Servers and workers adopt; the CLI works
	// only its own batch and never adopts.
	Adopt bool
	// SweepInterval is how often the engine looks for days whose worker process died
	// (and, with Adopt, for batches nobody works) and queues them again, at the front
	// (default 1s). It sweeps once at start too.
	SweepInterval time.Duration
	// RescueAfter is how long a day's job may run before River's rescuer takes it back,
	// the slow backstop behind the sweep (default: DayTimeout and 10s more).
	RescueAfter time.Duration
	// ShutdownGrace is how long in-flight days get to finish on shutdown before they
	// are cancelled and rolled back (default 10s).
	ShutdownGrace time.Duration
	// PersistFor is how long a day's outcome waits for an unreachable PostgreSQL to be
	// recorded before it is given up (default 10m).
	PersistFor time.Duration
	// MaxBatchDays caps the days a batch may cover (default DefaultMaxBatchDays, twenty
	// years).
	MaxBatchDays int
	// Sources are the other sources, besides New's default one, that batches may name:
	// every process working a queue should have the same ones (a process without a
	// batch's source leaves its days to another).
	Sources []Source
	// Alerts delivers the webhooks' alerts (default alert.NewSender(nil): links to
	// localhost:8000, words in Chinese).
	Alerts *alert.Sender
	// AlertAttempts is how often an alert is tried before its webhook records it failed
	// (default 5).
	AlertAttempts int
	// AlertBackoff is the wait before an alert's second attempt, doubling after
	// (default 10s).
	AlertBackoff time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the engine's structured logs (default slog.Default()).
	Logger *slog.Logger
	// Metrics records each day's duration and rows (nil: none).
	Metrics *metrics.Metrics
}

func (c *Config) withDefaults() Config {
	out := Config{}
	if c != nil {
		out = *c
	}
	if out.Queue == "" {
		out.Queue = river.QueueDefault
	}
	if out.Parallelism == 0 {
		out.Parallelism = 2
	}
	if out.MaxAttempts <= 0 {
		out.MaxAttempts = 3
	}
	if out.RetryBackoff <= 0 {
		out.RetryBackoff = time.Second
	}
	if out.FetchCooldown <= 0 {
		out.FetchCooldown = 2 * time.Millisecond
	}
	if out.FetchPollInterval <= 0 {
		out.FetchPollInterval = 250 * time.Millisecond
	}
	if out.DayTimeout <= 0 {
		out.DayTimeout = 5 * time.Minute
	}
	if out.SweepInterval <= 0 {
		out.SweepInterval = time.Second
	}
	if out.RescueAfter <= 0 {
		out.RescueAfter = 40 * time.Second
	}
	if out.RescueAfter < out.DayTimeout {
		out.RescueAfter = out.DayTimeout + 10*time.Second
	}
	if out.ShutdownGrace <= 0 {
		out.ShutdownGrace = 10 * time.Second
	}
	if out.PersistFor <= 0 {
		out.PersistFor = 10 * time.Minute
	}
	if out.MaxBatchDays <= 0 {
		out.MaxBatchDays = DefaultMaxBatchDays
	}
	if out.Alerts == nil {
		out.Alerts = alert.NewSender(nil)
	}
	if out.AlertAttempts <= 0 {
		out.AlertAttempts = 5
	}
	if out.AlertBackoff <= 0 {
		out.AlertBackoff = 10 * time.Second
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	return out
}

// Engine is the batch engine. Build it with New; run its workers with Run.
type Engine struct {
	pool     *pgxpool.Pool
	src      Source            // the default source
	sources  map[string]Source // every source, by name
	cal      *calendar.Calendar
	cfg      Config
	log      *slog.Logger
	river    *river.Client[pgx.Tx]
	alerts   *alert.Sender
	worker   int32 // this process's worker id; 0 when it runs no workers
	stopping atomic.Bool
	ready    chan struct{}
	days     dayCache
	inflight inflight
}

// dayCache keeps the days and newest errors of recently viewed batches by batch
// version: many viewers and API clients of one batch cost one read per change, not one
// per request. The slices it holds are never modified.
type dayCache struct {
	mu sync.Mutex
	m  map[int64]cachedDays
}

type cachedDays struct {
	version int64
	days    []store.Day
	errs    recentErrors
}

// dayCacheSize bounds the cache; past it, it starts over.
const dayCacheSize = 256

func (c *dayCache) get(batchID, version int64) (cachedDays, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[batchID]
	return d, ok && d.version == version
}

func (c *dayCache) put(batchID int64, d cachedDays) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= dayCacheSize {
		c.m = make(map[int64]cachedDays)
	}
	if old, ok := c.m[batchID]; !ok || old.version <= d.version {
		c.m[batchID] = d
	}
}

// New builds an engine on pool that loads from src. An engine that will work days
// registers its worker id in the database.
func New(ctx context.Context, pool *pgxpool.Pool, src Source, cal *calendar.Calendar, cfg *Config) (*Engine, error) {
	c := cfg.withDefaults()
	e := &Engine{pool: pool, src: src, cal: cal, cfg: c, log: c.Logger, ready: make(chan struct{}), alerts: c.Alerts,
		sources: map[string]Source{src.Name(): src}}
	for _, s := range c.Sources {
		if _, dup := e.sources[s.Name()]; !dup {
			e.sources[s.Name()] = s
		}
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &dayWorker{e: e}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &stocksWorker{e: e}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &stageWorker{e: e}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &alertWorker{e: e}); err != nil {
		return nil, err
	}
	rc := &river.Config{
		Hooks:                       []rivertype.Hook{availableNow},
		Workers:                     workers,
		FetchCooldown:               c.FetchCooldown,
		FetchPollInterval:           c.FetchPollInterval,
		JobTimeout:                  c.DayTimeout,
		RescueStuckJobsAfter:        c.RescueAfter,
		MaxAttempts:                 c.MaxAttempts,
		RetryPolicy:                 &backoff{base: c.RetryBackoff, alertBase: c.AlertBackoff, now: c.Now},
		Logger:                      slog.New(minLevel{slog.LevelWarn, c.Logger.Handler()}),
		CompletedJobRetentionPeriod: time.Hour,
	}
	if c.Parallelism > 0 {
		rc.Queues = map[string]river.QueueConfig{c.Queue: {MaxWorkers: c.Parallelism}, AlertQueue: {MaxWorkers: 2}}
		host, _ := os.Hostname()
		id, err := store.RegisterWorker(ctx, pool, c.Queue, host, os.Getpid())
		if err != nil {
			return nil, err
		}
		e.worker = id
		rc.ID = workerName(id)
	}
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("creating the job queue client: %w", err)
	}
	e.river = client
	return e, nil
}

// Calendar is the trading calendar the engine checks ranges against.
func (e *Engine) Calendar() *calendar.Calendar { return e.cal }

// Parallelism is how many days this process loads at once.
func (e *Engine) Parallelism() int { return max(e.cfg.Parallelism, 0) }

// Ready is closed once Run holds its queue and works it: a batch started after that is
// never mistaken for one whose process is gone.
func (e *Engine) Ready() <-chan struct{} { return e.ready }

// Run works days until ctx ends, then stops taking new days, gives the days in flight
// ShutdownGrace to commit, and cancels (rolls back) those still running. Days rolled back
// this way go back to the queue for another process.
func (e *Engine) Run(ctx context.Context) error {
	if e.cfg.Parallelism < 0 {
		<-ctx.Done()
		return nil
	}
	// While this process works its queue it holds the queue's lock (shared: servers
	// share "default") and its worker's lock: a queue nobody holds has lost its
	// processes, and a job whose worker's lock is free has lost its worker.
	lockCtx, releaseLocks := context.WithCancel(context.WithoutCancel(ctx))
	locksHeld := make(chan error, 1)
	locksDone := make(chan struct{})
	go func() {
		defer close(locksDone)
		e.holdLocks(lockCtx, locksHeld)
	}()
	defer func() {
		releaseLocks()
		<-locksDone
	}()
	select {
	case err := <-locksHeld:
		if err != nil {
			return fmt.Errorf("holding the worker's locks: %w", err)
		}
	case <-ctx.Done():
		return nil
	}
	// Days that a dead process left go first, before this one takes any other.
	e.sweep(ctx, true)
	if err := e.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("starting workers: %w", err)
	}
	e.log.Info("workers started", "queue", e.cfg.Queue, "parallelism", e.cfg.Parallelism, "worker", e.worker)
	close(e.ready)
	sweepCtx, stopSweeping := context.WithCancel(ctx)
	defer stopSweeping()
	go e.sweepLoop(sweepCtx)
	go e.listenStops(sweepCtx)
	go e.refreshCalendarDaily(sweepCtx)
	select {
	case <-ctx.Done():
	case <-e.river.Stopped():
		return errors.New("the job queue client stopped unexpectedly")
	}
	return e.drain()
}

// drain stops the workers: the days in flight get ShutdownGrace to commit, then are
// cancelled and roll back.
func (e *Engine) drain() error {
	e.stopping.Store(true)
	grace, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownGrace)
	defer cancel()
	if err := e.river.Stop(grace); err != nil {
		e.log.Warn("days still running after the shutdown grace; rolling them back", "grace", e.cfg.ShutdownGrace)
		hard, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return e.river.StopAndCancel(hard)
	}
	return nil
}

// holdLocks holds the queue's lock (shared) and the worker's lock on a connection of its
// own until ctx ends, taking them again on a new connection whenever that one drops (a
// PostgreSQL restart). It reports on held whether the first attempt succeeded.
func (e *Engine) holdLocks(ctx context.Context, held chan<- error) {
	backoff := 100 * time.Millisecond
	for first := true; ; first = false {
		conn, err := e.lockConn(ctx)
		if first {
			held <- err
			if err != nil {
				return
			}
		}
		if err == nil {
			backoff = 100 * time.Millisecond
			err = e.keepConn(ctx, conn)
			if ctx.Err() != nil {
				return
			}
			e.log.Warn("lost the connection that holds the worker's locks; taking them again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// lockConn takes a connection and the worker's locks on it.
func (e *Engine) lockConn(ctx context.Context) (*pgxpool.Conn, error) {
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err = conn.Exec(ctx, "SELECT pg_advisory_lock_shared($1, hashtext($2))", store.QueueLockKey, e.cfg.Queue); err == nil {
		err = store.LockWorker(ctx, conn, e.worker)
	}
	if err != nil {
		conn.Conn().Close(context.Background())
		conn.Release()
		return nil, err
	}
	return conn, nil
}

// keepConn checks every second that conn lives; when ctx ends it releases the locks and
// the connection and returns nil, when the connection fails it returns why.
func (e *Engine) keepConn(ctx context.Context, conn *pgxpool.Conn) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			bg, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := conn.Exec(bg, "SELECT pg_advisory_unlock_all()")
			if err != nil {
				conn.Conn().Close(bg)
			}
			conn.Release()
			return nil
		case <-tick.C:
			if err := conn.Ping(ctx); err != nil && ctx.Err() == nil {
				conn.Conn().Close(context.Background())
				conn.Release()
				return err
			}
		}
	}
}

// workerName is how worker id names itself to River: River records it in every job it
// takes (attempted_by), which is how the sweep tells whose a running job is.
func workerName(id int32) string { return "marketsync-w" + strconv.Itoa(int(id)) }

// workerOf reads a worker id back from a River client name.
func workerOf(name string) (int32, bool) {
	rest, ok := strings.CutPrefix(name, "marketsync-w")
	if !ok {
		return 0, false
	}
	id, err := strconv.Atoi(rest)
	return int32(id), err == nil
}

// minLevel drops River's records below a level: its info logs are per job and noisy,
// and the engine logs every day itself.
type minLevel struct {
	min slog.Level
	slog.Handler
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{m.min, m.Handler.WithAttrs(a)}
}
func (m minLevel) WithGroup(g string) slog.Handler { return minLevel{m.min, m.Handler.WithGroup(g)} }

// notify announces a change of taskID inside tx.
func notify(ctx context.Context, tx pgx.Tx, taskID string) error {
	return store.Notify(ctx, tx, ProgressChannel, taskID)
}

// inTx runs fn in a transaction and commits it.
func (e *Engine) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, e.pool, fn)
}

func dateString(d time.Time) string { return d.Format(market.DateLayout) }

type riverDriver = riverpgxv5.Driver

// Sources lists the configured sources, the default first.
func (e *Engine) Sources() []market.SourceInfo {
	out := []market.SourceInfo{describeSource(e.src, true)}
	for _, name := range slices.Sorted(maps.Keys(e.sources)) {
		if name != e.src.Name() {
			out = append(out, describeSource(e.sources[name], false))
		}
	}
	return out
}

func describeSource(s Source, isDefault bool) market.SourceInfo {
	syn, ok := s.(Synthetic)
	return market.SourceInfo{Name: s.Name(), Datasets: s.Datasets(), Synthetic: ok && syn.Synthetic(), Default: isDefault}
}

// source returns the source called name ("" is the default), or an input error naming
// the configured ones.
func (e *Engine) source(name string) (Source, error) {
	if name == "" {
		return e.src, nil
	}
	if s, ok := e.sources[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("%w: unknown source %q (configured here: %s)", market.ErrInvalidInput, name,
		strings.Join(slices.Sorted(maps.Keys(e.sources)), ", "))
}
