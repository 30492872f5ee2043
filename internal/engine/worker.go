package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// dayArgs is the queued job of one (dataset, trading day) of a batch. Gen must match the
// day's gen for the job to work it: a day queued again (resume, retry) makes older jobs
// of it no-ops.
type dayArgs struct {
	BatchID int64  `json:"batch_id"`
	TaskID  string `json:"task_id"`
	Source  string `json:"source,omitempty"`
	Dataset string `json:"dataset"`
	Day     string `json:"day"`
	Gen     int    `json:"gen"`
}

// Kind is the River job kind.
func (dayArgs) Kind() string { return "marketsync.day" }

// logger is log for the day's work: every line carries its task id, dataset and day.
func (a dayArgs) logger(log *slog.Logger) *slog.Logger {
	return log.With("task_id", a.TaskID, "dataset", a.Dataset, "day", a.Day)
}

// dayWorker loads one day per job.
type dayWorker struct {
	river.WorkerDefaults[dayArgs]
	e *Engine
}

// errBatchStopped reports that the batch was cancelled or failed while a day loaded.
var errBatchStopped = errors.New("the batch was stopped")

// errShuttingDown stops a stage fetch when its process is stopping: another process (or
// this one, restarted) goes on with the stocks not staged yet.
var errShuttingDown = errors.New("the process is shutting down")

// Work claims the day, fetches it, loads it in one transaction and records how it
// ended.
func (w *dayWorker) Work(ctx context.Context, job *river.Job[dayArgs]) error {
	e := w.e
	log := job.Args.logger(e.log)
	ds, ref, err := job.Args.parse()
	if err != nil {
		return river.JobCancel(err)
	}
	src, err := e.source(job.Args.Source)
	if err != nil {
		// Another process may have this source: leave the day to it.
		log.Warn("a day of a source this process does not have; leaving it to another", "source", job.Args.Source)
		return river.JobSnooze(10 * time.Second)
	}
	// Tracked before the claim: a stop announced from then on cancels the day.
	ctx, done := e.inflight.track(ctx, ref.BatchID)
	defer done()
	b, claimed, err := store.ClaimDay(ctx, e.pool, store.ClaimParams{
		DayRef: ref, JobID: job.ID, Attempt: job.Attempt, Channel: ProgressChannel})
	if err != nil {
		return err
	}
	if !claimed {
		return nil // batch deleted, paused or stopped, or the job is stale
	}
	began := e.cfg.Now()
	res, loadErr := e.load(ctx, job, b, src, ds, ref.Day)
	took := e.cfg.Now().Sub(began)
	switch {
	case loadErr == nil:
		e.cfg.Metrics.DayDone(ds.Name, src.Name(), string(res.status), res.rows, took)
		e.logDay(ctx, log, job.Args, res.tally, res.status, res.rows, took, "")
		return nil
	case errors.Is(loadErr, store.ErrStale):
		log.Warn("day was handed to another worker meanwhile; dropping this attempt")
		return nil
	}
	if !errors.Is(ctx.Err(), context.Canceled) { // not paused, cancelled or shutting down
		e.cfg.Metrics.DayDone(ds.Name, src.Name(), string(market.DayFailed), 0, took)
	}
	return e.dayFailed(ctx, log, job, b, loadErr)
}

// parse reads the job's dataset and day.
func (a dayArgs) parse() (market.Dataset, store.DayRef, error) {
	ds, err := market.LookupDataset(a.Dataset)
	if err != nil {
		return ds, store.DayRef{}, err
	}
	day, err := market.ParseDate(a.Day)
	return ds, store.DayRef{BatchID: a.BatchID, Dataset: a.Dataset, Day: day, Gen: a.Gen}, err
}

// dayResult is how a loaded day ended: its state, the rows loaded, and where its batch
// stands.
type dayResult struct {
	status market.DayStatus
	rows   int64
	tally  tally
}

// load fetches one day and replaces its rows in one transaction. The fetch comes first,
// outside the transaction (no transaction waits on the network; a local source's rows
// still stream straight into COPY); then: lock (dataset, day), skip it when it is loaded
// already (unless force), COPY the rows in, mark the day done, complete the job, finish
// the batch when this was its last day, notify. Anything going wrong rolls all of it
// back.
func (e *Engine) load(ctx context.Context, job *river.Job[dayArgs], b *store.Batch, src Source, ds market.Dataset, day time.Time) (dayResult, error) {
	var rows market.Rows
	loaded, err := e.covered(ctx, e.pool, b, ds, day)
	if err != nil {
		return dayResult{}, err
	}
	if !loaded {
		if _, staged := src.(RangeSource); staged {
			rows, err = store.StagedDay(ctx, e.pool, b.ID, ds, day)
		} else {
			rows, err = src.Fetch(ctx, ds, day)
		}
		if err != nil {
			return dayResult{}, fmt.Errorf("fetching: %w", err)
		}
	}
	res := dayResult{status: market.DaySucceeded}
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		if err := store.LockDay(ctx, tx, ds.Name, day); err != nil {
			return err
		}
		// Another batch may have loaded the day since the look before the fetch.
		loaded, err := e.covered(ctx, tx, b, ds, day)
		if err != nil {
			return err
		}
		if loaded {
			res.status = market.DaySkipped
		} else if res.rows, err = store.ReplaceDay(ctx, tx, store.DayLoad{Dataset: ds, Day: day, BatchID: b.ID, Source: src.Name()}, rows); err != nil {
			return err
		}
		if res.tally, err = e.endDay(ctx, tx, job, b.ID, ds.Name, day, res.status, res.rows, nil); err != nil || res.tally.final == "" {
			return err
		}
		return e.batchEnded(ctx, tx, b.ID)
	})
	return res, err
}

// covered reports whether the day is loaded already and the batch does not force it.
func (e *Engine) covered(ctx context.Context, db store.DB, b *store.Batch, ds market.Dataset, day time.Time) (bool, error) {
	if b.Force {
		return false, nil
	}
	return store.IsCovered(ctx, db, ds.Name, day)
}

// tally is where a batch stands after a day ended: days finished of all, and the
// batch's final state when that day was its last.
type tally struct {
	done, total int
	final       market.BatchStatus
}

// endDay records a day's final state inside tx: under the batch lock, refuse when the
// batch was stopped meanwhile, else mark the day, complete its job, finish the batch
// when nothing is left, and notify. The caller raises the alert of a batch it finished
// (t.final), once it knows how the batch ends.
func (e *Engine) endDay(ctx context.Context, tx pgx.Tx, job *river.Job[dayArgs], batchID int64, dataset string, day time.Time, status market.DayStatus, rows int64, errMsg *string) (tally, error) {
	var t tally
	b, err := store.LockBatchByID(ctx, tx, batchID)
	if err != nil {
		return t, err
	}
	if status != market.DayCancelled && (b.Status == market.BatchCancelling || b.Status.Finished()) {
		return t, errBatchStopped
	}
	if err := store.FinishDay(ctx, tx, batchID, dataset, day, job.Args.Gen, status, rows, errMsg); err != nil {
		return t, err
	}
	if _, err := river.JobCompleteTx[*riverDriver](ctx, tx, job); err != nil {
		return t, fmt.Errorf("completing job: %w", err)
	}
	if t.done, t.total, err = store.Progress(ctx, tx, batchID); err != nil {
		return t, err
	}
	if t.done == t.total {
		if t.final, err = store.FinishIfDone(ctx, tx, batchID); err != nil {
			return t, err
		}
	}
	return t, notify(ctx, tx, b.TaskID)
}

// outcome is what becomes of an attempt that did not load.
type outcome int

const (
	// handBack: the process is shutting down; the day goes back to pending for another
	// process, and no error is recorded.
	handBack outcome = iota
	// retryLater: attempts are left; the error is recorded and River retries the day
	// after the backoff.
	retryLater
	// failDay: no attempts are left; the day fails.
	failDay
	// failBatch: the source refused (bad credentials); the day and the whole batch fail.
	failBatch
	// failDataset: the source refuses this dataset (no permission); the day and the
	// batch's other days of the dataset fail, without retries.
	failDataset
	// cancelDay: the batch was stopped meanwhile; the day ends cancelled.
	cancelDay
)

// decideFailure decides what becomes of a failed attempt, as River's retry decision
// does: from the error, the attempts, whether this process is stopping and the batch's
// state. It has no side effects.
func decideFailure(loadErr error, attempt, maxAttempts int, shuttingDown bool, batch market.BatchStatus) outcome {
	switch {
	case batch == market.BatchCancelling || batch.Finished():
		return cancelDay
	case shuttingDown:
		return handBack
	case errors.Is(loadErr, market.ErrSourceRefused):
		return failBatch
	case errors.Is(loadErr, market.ErrDatasetRefused):
		return failDataset
	case attempt >= maxAttempts, errors.Is(loadErr, market.ErrQuotaExhausted):
		return failDay // no attempt left, or none would help today
	}
	return retryLater
}

// dayFailed records an attempt that did not load, as decideFailure decides, and returns
// what River should do. The bookkeeping outlives the day's context, and waits for
// PostgreSQL when it is down: an attempt that failed during an outage is recorded once
// the database is back.
func (e *Engine) dayFailed(ctx context.Context, log *slog.Logger, job *river.Job[dayArgs], b *store.Batch, loadErr error) error {
	msg := loadErr.Error()
	if errors.Is(loadErr, context.DeadlineExceeded) {
		msg = fmt.Sprintf("timed out after %s", e.cfg.DayTimeout)
	}
	shuttingDown := ctx.Err() != nil && e.stopping.Load()
	var decided outcome
	var t tally
	err := e.persist(ctx, log, func(bg context.Context, tx pgx.Tx) error {
		lb, err := store.LockBatchByID(bg, tx, b.ID)
		if err != nil {
			return err
		}
		decided = decideFailure(loadErr, job.Attempt, job.MaxAttempts, shuttingDown, lb.Status)
		t, err = e.applyFailure(bg, tx, log, job, lb, decided, msg)
		return err
	})
	if errors.Is(err, store.ErrStale) {
		return nil // the day was queued again: its newer job records the outcome
	}
	if err != nil {
		log.Error("recording a failed day", "err", err)
		return loadErr
	}
	e.logFailure(ctx, log, job, t, decided, msg)
	switch decided {
	case cancelDay:
		return river.JobCancel(errBatchStopped) // River must not retry it
	case handBack, retryLater:
		return loadErr // River retries it after the backoff
	}
	return nil // failed for good: the day's own row says so
}

// applyFailure carries out decided for the day of job inside tx, under b's lock.
func (e *Engine) applyFailure(ctx context.Context, tx pgx.Tx, log *slog.Logger, job *river.Job[dayArgs], b *store.Batch, decided outcome, msg string) (tally, error) {
	a := job.Args
	day, _ := market.ParseDate(a.Day)
	switch decided {
	case cancelDay:
		t, err := e.endDay(ctx, tx, job, b.ID, a.Dataset, day, market.DayCancelled, 0, nil)
		if err == nil && t.final != "" {
			err = e.batchEnded(ctx, tx, b.ID)
		}
		return t, err
	case handBack:
		if err := store.FinishDay(ctx, tx, b.ID, a.Dataset, day, a.Gen, market.DayPending, 0, nil); err != nil {
			return tally{}, err
		}
		return tally{}, notify(ctx, tx, a.TaskID)
	}
	final := decided != retryLater
	if err := store.RecordError(ctx, tx, b.ID, a.Dataset, day, job.Attempt, final, msg); err != nil {
		return tally{}, err
	}
	if !final {
		if err := store.FinishDay(ctx, tx, b.ID, a.Dataset, day, a.Gen, market.DayPending, 0, &msg); err != nil {
			return tally{}, err
		}
		return tally{}, notify(ctx, tx, a.TaskID)
	}
	t, err := e.endDay(ctx, tx, job, b.ID, a.Dataset, day, market.DayFailed, 0, &msg)
	ended := t.final != ""
	switch {
	case err != nil:
		return t, err
	case decided == failBatch:
		return t, e.failBatch(ctx, tx, log, b, msg) // raises the batch's alert itself
	case decided == failDataset:
		var final market.BatchStatus
		final, err = e.failDataset(ctx, tx, log, b, a.Dataset, msg)
		ended = ended || final != ""
	}
	if err == nil && ended {
		err = e.batchEnded(ctx, tx, b.ID)
	}
	return t, err
}

// logFailure logs a failed attempt as it was decided.
func (e *Engine) logFailure(ctx context.Context, log *slog.Logger, job *river.Job[dayArgs], t tally, decided outcome, msg string) {
	a := job.Args
	switch decided {
	case handBack:
	case cancelDay:
		e.logDay(ctx, log, a, t, market.DayCancelled, 0, 0, "")
	case retryLater:
		log.Warn(fmt.Sprintf("day %s failed (attempt %d of %d), will retry: %s", a.Day, job.Attempt, job.MaxAttempts, msg),
			"attempt", job.Attempt, "err", msg)
	default:
		e.logDay(ctx, log, a, t, market.DayFailed, 0, 0, msg)
	}
}

// persist runs fn in a transaction on a context that outlives ctx, trying again while
// PostgreSQL is unreachable: for up to PersistFor, or ShutdownGrace once the process is
// stopping. It says so on log (the day's or the batch's).
func (e *Engine) persist(ctx context.Context, log *slog.Logger, fn func(ctx context.Context, tx pgx.Tx) error) error {
	bg := context.WithoutCancel(ctx)
	deadline := e.cfg.Now().Add(e.cfg.PersistFor)
	backoff := 100 * time.Millisecond
	for {
		attempt, cancel := context.WithTimeout(bg, 15*time.Second)
		err := e.inTx(attempt, func(tx pgx.Tx) error { return fn(attempt, tx) })
		cancel()
		if err == nil || !store.IsUnavailable(err) {
			return err
		}
		limit := deadline
		if e.stopping.Load() {
			limit = earliest(limit, e.cfg.Now().Add(e.cfg.ShutdownGrace))
		}
		if e.cfg.Now().Add(backoff).After(limit) {
			return err
		}
		log.Warn("PostgreSQL is unreachable; will record the day's outcome when it is back", "err", err, "retry_in", backoff)
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// failDataset fails the batch's days of dataset not started yet, with the source's
// refusal: no attempt at them could help. The batch ends when nothing else is left: it
// returns the batch's final state then (the caller raises its alert).
func (e *Engine) failDataset(ctx context.Context, tx pgx.Tx, log *slog.Logger, b *store.Batch, dataset, reason string) (market.BatchStatus, error) {
	n, err := store.FailPending(ctx, tx, b.ID, dataset, reason)
	if err != nil {
		return "", err
	}
	final, err := store.FinishIfDone(ctx, tx, b.ID)
	if err != nil {
		return "", err
	}
	log.Error(fmt.Sprintf("the source refuses %s: %d more days of it fail", dataset, n), "err", reason)
	return final, nil
}

// failBatch ends a batch the source refused: it fails, and its pending days are
// cancelled; running days roll back when they try to commit. Its alert goes in the same
// transaction. log carries the batch's task id (and the day's dataset and day when a
// day's refusal ended it).
func (e *Engine) failBatch(ctx context.Context, tx pgx.Tx, log *slog.Logger, b *store.Batch, reason string) error {
	if err := store.CancelPending(ctx, tx, b.ID); err != nil {
		return err
	}
	if err := store.SetBatchStatus(ctx, tx, b.ID, market.BatchFailed, reason); err != nil {
		return err
	}
	if err := e.batchEnded(ctx, tx, b.ID); err != nil {
		return err
	}
	log.Error("batch failed: " + reason)
	return announceStop(ctx, tx, b.ID)
}

// logDay logs a finished day as "[n/total] (p%)" on the day's log, and the batch's
// outcome when the day was its last.
func (e *Engine) logDay(ctx context.Context, log *slog.Logger, a dayArgs, t tally, status market.DayStatus, rows int64, took time.Duration, errMsg string) {
	if t.total == 0 {
		return
	}
	pct := math.Round(float64(t.done)*1000/float64(t.total)) / 10
	attrs := []any{"status", status, "current", t.done, "total", t.total, "progress_percent", pct}
	msg := fmt.Sprintf("[%d/%d] %s %s %s (%.1f%%)", t.done, t.total, a.Dataset, a.Day, status, pct)
	switch status {
	case market.DaySucceeded:
		log.Info(msg, append(attrs, "rows", rows, "took_ms", took.Milliseconds())...)
	case market.DayFailed:
		log.Error(msg+": "+errMsg, append(attrs, "err", errMsg)...)
	default:
		log.Info(msg, attrs...)
	}
	if t.final == "" {
		return
	}
	if snap, err := e.Snapshot(ctx, a.TaskID); err == nil {
		log.Info("batch "+snap.Message, "status", snap.Status, "success", snap.Success,
			"failed", snap.Failed, "skipped", snap.Skipped, "cancelled", snap.Cancelled,
			"rows", snap.RowsLoaded, "duration_seconds", deref(snap.DurationSeconds))
	}
}

// backoff waits base, 2·base, 4·base, … (capped at 10 minutes) between attempts; an
// alert's attempts start from alertBase.
type backoff struct {
	base, alertBase time.Duration
	now             func() time.Time
}

// NextRetry implements river.ClientRetryPolicy.
func (p *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	n := min(len(job.Errors), 20)
	base := p.base
	if job.Kind == (alertArgs{}).Kind() {
		base = p.alertBase
	}
	wait := min(base<<n, 10*time.Minute)
	return p.now().Add(wait)
}
