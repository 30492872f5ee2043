package engine

import (
	"context"
	"errors"
	"fmt"
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
	Dataset string `json:"dataset"`
	Day     string `json:"day"`
	Gen     int    `json:"gen"`
}

// Kind is the River job kind.
func (dayArgs) Kind() string { return "marketsync.day" }

// dayWorker loads one day per job.
type dayWorker struct {
	river.WorkerDefaults[dayArgs]
	e *Engine
}

// errBatchStopped reports that the batch was cancelled or failed while a day loaded.
var errBatchStopped = errors.New("the batch was stopped")

// Work claims the day, loads it in one transaction and records how it ended.
func (w *dayWorker) Work(ctx context.Context, job *river.Job[dayArgs]) error {
	e := w.e
	a := job.Args
	ds, err := market.LookupDataset(a.Dataset)
	if err != nil {
		return river.JobCancel(err)
	}
	day, err := market.ParseDate(a.Day)
	if err != nil {
		return river.JobCancel(err)
	}
	b, claimed, err := store.ClaimDay(ctx, e.pool, ProgressChannel, a.BatchID, a.Dataset, day, a.Gen, job.ID, job.Attempt)
	if err != nil {
		return err
	}
	if !claimed {
		return nil // batch deleted, paused or stopped, or the job is stale
	}

	began := e.cfg.Now()
	status, rows, t, loadErr := e.load(ctx, job, b, ds, day)
	switch {
	case loadErr == nil:
		e.logDay(ctx, a, t, status, rows, e.cfg.Now().Sub(began), "")
		return nil
	case errors.Is(loadErr, store.ErrStale):
		e.log.Warn("day was handed to another worker meanwhile; dropping this attempt", "task_id", a.TaskID, "day", a.Day)
		return nil
	}
	return e.dayFailed(ctx, job, b, ds, day, loadErr)
}

// load replaces one day's rows in one transaction: lock (dataset, day), skip it when it
// is loaded already (unless force), stream the source's rows in with COPY, mark the day
// done, complete the job, finish the batch when this was its last day, notify. Anything
// going wrong rolls all of it back.
func (e *Engine) load(ctx context.Context, job *river.Job[dayArgs], b *store.Batch, ds market.Dataset, day time.Time) (market.DayStatus, int64, tally, error) {
	status := market.DaySucceeded
	var n int64
	var t tally
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		if err := store.LockDay(ctx, tx, ds.Name, day); err != nil {
			return err
		}
		if !b.Force {
			covered, err := store.IsCovered(ctx, tx, ds.Name, day)
			if err != nil {
				return err
			}
			if covered {
				status = market.DaySkipped
			}
		}
		if status == market.DaySucceeded {
			rows, err := e.src.Fetch(ctx, ds, day)
			if err != nil {
				return fmt.Errorf("fetching: %w", err)
			}
			if n, err = store.ReplaceDay(ctx, tx, ds, day, b.ID, rows); err != nil {
				return err
			}
		}
		var err error
		t, err = e.endDay(ctx, tx, job, b.ID, ds.Name, day, status, n, nil)
		return err
	})
	return status, n, t, err
}

// tally is where a batch stands after a day ended: days finished of all, and the
// batch's final state when that day was its last.
type tally struct {
	done, total int
	final       market.BatchStatus
}

// endDay records a day's final state inside tx: under the batch lock, refuse when the
// batch was stopped meanwhile, else mark the day, complete its job, finish the batch
// when nothing is left, and notify.
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

// dayFailed records an attempt that did not load: cancelled when the batch was stopped,
// retried when attempts are left, failed otherwise. It returns what River should do.
func (e *Engine) dayFailed(ctx context.Context, job *river.Job[dayArgs], b *store.Batch, ds market.Dataset, day time.Time, loadErr error) error {
	a := job.Args
	// The day's own context may be gone; its bookkeeping must still happen.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()

	if ctx.Err() != nil && e.stopping.Load() {
		// Shutting down: hand the day back for another process, without counting an error.
		var runErr error = loadErr
		err := e.inTx(bg, func(tx pgx.Tx) error {
			lb, err := store.LockBatchByID(bg, tx, b.ID)
			if err != nil {
				return err
			}
			if lb.Status == market.BatchCancelling || lb.Status.Finished() {
				// Cancelled meanwhile: the day ends cancelled, and River must not retry it.
				runErr = river.JobCancel(errBatchStopped)
				_, err := e.endDay(bg, tx, job, b.ID, a.Dataset, day, market.DayCancelled, 0, nil)
				return err
			}
			if err := store.FinishDay(bg, tx, b.ID, a.Dataset, day, a.Gen, market.DayPending, 0, nil); err != nil {
				return err
			}
			return notify(bg, tx, a.TaskID)
		})
		if errors.Is(err, store.ErrStale) {
			return nil
		}
		if err != nil {
			e.log.Warn("handing a day back on shutdown", "task_id", a.TaskID, "day", a.Day, "err", err)
		}
		return runErr
	}
	msg := loadErr.Error()
	if errors.Is(loadErr, context.DeadlineExceeded) {
		msg = fmt.Sprintf("timed out after %s", e.cfg.DayTimeout)
	}
	final := job.Attempt >= job.MaxAttempts || errors.Is(loadErr, market.ErrSourceRefused)
	var outcome market.DayStatus
	var runErr error
	var t tally
	err := e.inTx(bg, func(tx pgx.Tx) error {
		lb, err := store.LockBatchByID(bg, tx, b.ID)
		if err != nil {
			return err
		}
		if lb.Status == market.BatchCancelling || lb.Status.Finished() {
			outcome = market.DayCancelled
			runErr = river.JobCancel(errBatchStopped)
			t, err = e.endDay(bg, tx, job, b.ID, a.Dataset, day, market.DayCancelled, 0, nil)
			return err
		}
		if err := store.RecordError(bg, tx, b.ID, a.Dataset, day, job.Attempt, final, msg); err != nil {
			return err
		}
		if !final {
			outcome = market.DayPending
			runErr = loadErr // River retries it after the backoff
			if err := store.FinishDay(bg, tx, b.ID, a.Dataset, day, a.Gen, market.DayPending, 0, &msg); err != nil {
				return err
			}
			return notify(bg, tx, a.TaskID)
		}
		outcome = market.DayFailed
		runErr = nil
		if t, err = e.endDay(bg, tx, job, b.ID, a.Dataset, day, market.DayFailed, 0, &msg); err != nil {
			return err
		}
		if errors.Is(loadErr, market.ErrSourceRefused) {
			return e.failBatch(bg, tx, lb, msg)
		}
		return nil
	})
	if errors.Is(err, store.ErrStale) {
		return nil // the day was queued again: its newer job records the outcome
	}
	if err != nil {
		e.log.Error("recording a failed day", "task_id", a.TaskID, "dataset", a.Dataset, "day", a.Day, "err", err)
		return loadErr
	}
	switch outcome {
	case market.DayCancelled:
		e.logDay(bg, a, t, outcome, 0, 0, "")
	case market.DayPending:
		e.log.Warn(fmt.Sprintf("day %s failed (attempt %d of %d), will retry: %s", a.Day, job.Attempt, job.MaxAttempts, msg),
			"task_id", a.TaskID, "dataset", a.Dataset, "day", a.Day, "attempt", job.Attempt, "err", msg)
	default:
		e.logDay(bg, a, t, outcome, 0, 0, msg)
	}
	return runErr
}

// failBatch ends a batch the source refused: it fails, and its pending days are
// cancelled; running days roll back when they try to commit.
func (e *Engine) failBatch(ctx context.Context, tx pgx.Tx, b *store.Batch, reason string) error {
	if err := store.CancelPending(ctx, tx, b.ID); err != nil {
		return err
	}
	if err := store.SetBatchStatus(ctx, tx, b.ID, market.BatchFailed, reason); err != nil {
		return err
	}
	e.log.Error("batch failed: "+reason, "task_id", b.TaskID)
	return nil
}

// logDay logs a finished day as "[n/total] (p%)", and the batch's outcome when the day
// was its last.
func (e *Engine) logDay(ctx context.Context, a dayArgs, t tally, status market.DayStatus, rows int64, took time.Duration, errMsg string) {
	if t.total == 0 {
		return
	}
	pct := math.Round(float64(t.done)*1000/float64(t.total)) / 10
	attrs := []any{"task_id", a.TaskID, "dataset", a.Dataset, "day", a.Day, "status", status,
		"current", t.done, "total", t.total, "progress_percent", pct}
	msg := fmt.Sprintf("[%d/%d] %s %s %s (%.1f%%)", t.done, t.total, a.Dataset, a.Day, status, pct)
	switch status {
	case market.DaySucceeded:
		e.log.Info(msg, append(attrs, "rows", rows, "took_ms", took.Milliseconds())...)
	case market.DayFailed:
		e.log.Error(msg+": "+errMsg, append(attrs, "err", errMsg)...)
	default:
		e.log.Info(msg, attrs...)
	}
	if t.final == "" {
		return
	}
	if snap, err := e.Snapshot(ctx, a.TaskID); err == nil {
		e.log.Info("batch "+snap.Message, "task_id", a.TaskID, "status", snap.Status, "success", snap.Success,
			"failed", snap.Failed, "skipped", snap.Skipped, "cancelled", snap.Cancelled,
			"rows", snap.RowsLoaded, "duration_seconds", deref(snap.DurationSeconds))
	}
}

// backoff waits base, 2·base, 4·base, … (capped at 10 minutes) between attempts.
type backoff struct {
	base time.Duration
	now  func() time.Time
}

// NextRetry implements river.ClientRetryPolicy.
func (p *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	n := min(len(job.Errors), 20)
	wait := min(p.base<<n, 10*time.Minute)
	return p.now().Add(wait)
}
