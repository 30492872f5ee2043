package engine

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/marketsync/marketsync/internal/catalog"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// Start validates spec and creates the batch in one transaction: the batch row, one row
// per (dataset, calendar day) — non-trading days already skipped — and one queued job per
// trading day. It returns the new batch's snapshot. A spec that cannot run (see plan) is
// refused before anything is written.
func (e *Engine) Start(ctx context.Context, spec market.Spec) (*market.Snapshot, error) {
	e.knowCalendarThrough(ctx, spec)
	p, err := e.plan(spec)
	if err != nil {
		return nil, err
	}
	var b *store.Batch
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		b, err = e.create(ctx, tx, p, spec)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("starting batch: %w", err)
	}
	e.logStarted(b, p, spec)
	return e.Snapshot(ctx, b.TaskID)
}

// create writes the planned batch in tx: the batch row, its days, the queued jobs of its
// trading days (and a stock list refresh), and the announcement.
func (e *Engine) create(ctx context.Context, tx pgx.Tx, p plan, spec market.Spec) (*store.Batch, error) {
	b := &store.Batch{
		Source: p.source.Name(), Datasets: p.datasets, Start: p.start, End: p.end, Force: spec.Force, Priority: p.priority,
		Status: market.BatchQueued, Queue: e.cfg.Queue, Total: len(p.days), TradingDays: p.trading,
		CreatedBy: string(p.createdBy), CreatedFrom: spec.CreatedFrom, CreatedUser: optional(spec.CreatedUser),
	}
	base := fmt.Sprintf("%s_%s_%d", dateString(p.start), dateString(p.end), e.cfg.Now().Unix())
	if err := store.InsertBatch(ctx, tx, b, base); err != nil {
		return nil, err
	}
	if err := store.InsertDays(ctx, tx, b.ID, p.days); err != nil {
		return nil, err
	}
	var queued []store.Day
	for _, d := range p.days {
		if d.Trading {
			queued = append(queued, d)
		}
	}
	if err := e.enqueue(ctx, tx, b, queued, inTurn); err != nil {
		return nil, err
	}
	if err := e.enqueueStocks(ctx, tx, p.source, b.Queue); err != nil {
		return nil, err
	}
	if _, err := e.finishIfDone(ctx, tx, b.ID); err != nil {
		return nil, err
	}
	return b, notify(ctx, tx, b.TaskID)
}

// logStarted logs a batch just started.
func (e *Engine) logStarted(b *store.Batch, p plan, spec market.Spec) {
	n := len(p.datasets)
	e.log.Info(fmt.Sprintf("batch started: %s to %s, %d days (%d trading)", dateString(b.Start), dateString(b.End),
		len(p.days)/n, p.trading/n),
		"task_id", b.TaskID, "datasets", p.datasets, "total", len(p.days), "force", b.Force,
		"priority", p.priority, "created_by", p.createdBy, "chosen_days", len(spec.Days) > 0)
}

// Cancel stops the batch: days not started are cancelled at once, running days have
// their context cancelled (in whichever process runs them: announced on CancelChannel)
// and roll back. The batch ends cancelled when its last running day has rolled back.
func (e *Engine) Cancel(ctx context.Context, taskID string, who market.Actor) error {
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		b, err := store.LockBatch(ctx, tx, taskID)
		if err != nil {
			return err
		}
		if err := refuse(b, market.ActionCancel, 0, 0); err != nil {
			return err
		}
		if err := store.SetCancelling(ctx, tx, b.ID, who.String()); err != nil {
			return err
		}
		if err := store.CancelPending(ctx, tx, b.ID); err != nil {
			return err
		}
		if _, err := e.finishIfDone(ctx, tx, b.ID); err != nil {
			return err
		}
		if err := announceStop(ctx, tx, b.ID); err != nil {
			return err
		}
		return notify(ctx, tx, taskID)
	})
	if err != nil {
		return err
	}
	e.log.Info("batch cancel requested", "task_id", taskID, "by", who.String())
	return nil
}

// refuse returns ErrConflict, saying why, when b's state does not allow a.
func refuse(b *store.Batch, a market.Action, failed, cancelled int) error {
	if b.Status.Allows(a, failed, cancelled) {
		return nil
	}
	if a == market.ActionRetry && b.Status != market.BatchCancelling {
		return fmt.Errorf("%w: batch %s has no failed or unfinished days to retry", market.ErrConflict, b.TaskID)
	}
	return fmt.Errorf("%w: batch %s is %s, which does not allow %s", market.ErrConflict, b.TaskID, b.Status, a)
}

// Pause stops new days of the batch from starting; days in flight finish. Jobs of the
// paused batch that come up leave their day pending.
func (e *Engine) Pause(ctx context.Context, taskID string, who market.Actor) error {
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		b, err := store.LockBatch(ctx, tx, taskID)
		if err != nil {
			return err
		}
		if err := refuse(b, market.ActionPause, 0, 0); err != nil {
			return err
		}
		if err := store.SetBatchStatus(ctx, tx, b.ID, market.BatchPaused, ""); err != nil {
			return err
		}
		return notify(ctx, tx, taskID)
	})
	if err == nil {
		e.log.Info("batch paused", "task_id", taskID, "by", who.String())
	}
	return err
}

// Resume continues a paused batch: its pending days are queued again.
func (e *Engine) Resume(ctx context.Context, taskID string, who market.Actor) error {
	n := 0
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		b, err := store.LockBatch(ctx, tx, taskID)
		if err != nil {
			return err
		}
		if err := refuse(b, market.ActionResume, 0, 0); err != nil {
			return err
		}
		if err := store.Reopen(ctx, tx, b.ID); err != nil {
			return err
		}
		days, err := store.Requeue(ctx, tx, b.ID, market.DayPending)
		if err != nil {
			return err
		}
		n = len(days)
		if err := e.takeOver(ctx, tx, b); err != nil {
			return err
		}
		if err := e.enqueue(ctx, tx, b, days, inTurn); err != nil {
			return err
		}
		if _, err := e.finishIfDone(ctx, tx, b.ID); err != nil {
			return err
		}
		return notify(ctx, tx, taskID)
	})
	if err == nil {
		e.log.Info("batch resumed", "task_id", taskID, "by", who.String(), "days", n)
	}
	return err
}

// Retry queues again the days of the batch that did not load (failed, or cancelled)
// and returns how many; a finished batch runs again.
func (e *Engine) Retry(ctx context.Context, taskID string, who market.Actor) (int, error) {
	n := 0
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		b, err := store.LockBatch(ctx, tx, taskID)
		if err != nil {
			return err
		}
		c, err := store.CountDays(ctx, tx, b.ID)
		if err != nil {
			return err
		}
		if err := refuse(b, market.ActionRetry, c.Failed, c.Cancelled); err != nil {
			return err
		}
		from := []market.DayStatus{market.DayFailed}
		if b.Status.Finished() {
			from = append(from, market.DayCancelled)
		}
		days, err := store.Requeue(ctx, tx, b.ID, from...)
		if err != nil {
			return err
		}
		n = len(days)
		if b.Status != market.BatchPaused {
			if err := store.Reopen(ctx, tx, b.ID); err != nil {
				return err
			}
		}
		if err := e.takeOver(ctx, tx, b); err != nil {
			return err
		}
		if err := e.enqueue(ctx, tx, b, days, inTurn); err != nil {
			return err
		}
		return notify(ctx, tx, taskID)
	})
	if err == nil {
		e.log.Info("batch retried", "task_id", taskID, "by", who.String(), "days", n)
	}
	return n, err
}

// recentErrorCount is how many of the newest failed attempts a snapshot carries.
const recentErrorCount = 10

// Snapshot returns the progress of the batch taskID, with its grid of days. The batch
// row is read every time; its days and errors are read again only when its version
// moved.
func (e *Engine) Snapshot(ctx context.Context, taskID string) (*market.Snapshot, error) {
	b, err := store.BatchByTaskID(ctx, e.pool, taskID)
	if err != nil {
		return nil, err
	}
	c, ok := e.days.get(b.ID, b.Version)
	if !ok {
		c = cachedDays{version: b.Version}
		if c.days, err = store.Days(ctx, e.pool, b.ID); err != nil {
			return nil, fmt.Errorf("loading days of %s: %w", taskID, err)
		}
		if c.errs.items, c.errs.total, err = store.Errors(ctx, e.pool, b.ID, recentErrorCount, 0); err != nil {
			return nil, fmt.Errorf("loading errors of %s: %w", taskID, err)
		}
		e.days.put(b.ID, c)
	}
	src := e.sources[b.Source]
	var pace func(string) time.Duration
	if p, ok := src.(Pacer); ok {
		pace = p.Pace
	}
	s := buildSnapshot(b, c.days, c.errs, e.cfg.Now(), e.Parallelism(), pace)
	if src != nil {
		s.Synthetic = describeSource(src, false).Synthetic
		if n, ok := src.(Noter); ok {
			for _, key := range n.Notes() {
				s.Notes = append(s.Notes, market.Note{Key: key, Text: catalog.T(catalog.EN, key)})
			}
		}
	}
	if !b.Status.Finished() {
		run, err := store.GetStage(ctx, e.pool, b.ID)
		if err != nil {
			return nil, err
		}
		if run != nil {
			addStage(s, run, e.cfg.Now())
		}
	}
	return s, nil
}

// Noter is a source with remarks on its data that its batches show: catalog keys.
type Noter interface {
	Notes() []string
}

// Batches lists batches newest first, and how many match the filter in all.
func (e *Engine) Batches(ctx context.Context, f market.BatchFilter) ([]market.BatchSummary, int, error) {
	items, total, err := store.ListBatches(ctx, e.pool, f, store.AllBatches)
	if err != nil {
		return nil, 0, fmt.Errorf("listing batches: %w", err)
	}
	return e.summaries(items), total, nil
}

// Active lists the batches not finished yet, newest first.
func (e *Engine) Active(ctx context.Context) ([]market.BatchSummary, error) {
	items, _, err := store.ListBatches(ctx, e.pool, market.BatchFilter{}, store.ActiveBatches)
	if err != nil {
		return nil, fmt.Errorf("listing active batches: %w", err)
	}
	return e.summaries(items), nil
}

// Overview is the dashboard's state: the newest n unfinished batches and their total,
// and the n latest finished ones.
func (e *Engine) Overview(ctx context.Context, n int) (*market.Overview, error) {
	active, total, err := store.ListBatches(ctx, e.pool, market.BatchFilter{Limit: n}, store.ActiveBatches)
	if err != nil {
		return nil, fmt.Errorf("listing active batches: %w", err)
	}
	recent, err := e.Recent(ctx, n)
	if err != nil {
		return nil, err
	}
	return &market.Overview{Active: e.summaries(active), ActiveTotal: total, Recent: recent}, nil
}

// Recent lists the n latest finished batches, newest first.
func (e *Engine) Recent(ctx context.Context, n int) ([]market.BatchSummary, error) {
	items, _, err := store.ListBatches(ctx, e.pool, market.BatchFilter{Limit: n}, store.FinishedBatches)
	if err != nil {
		return nil, fmt.Errorf("listing finished batches: %w", err)
	}
	return e.summaries(items), nil
}

func (e *Engine) summaries(items []store.BatchListItem) []market.BatchSummary {
	now := e.cfg.Now()
	out := make([]market.BatchSummary, len(items))
	for i, it := range items {
		c := it.Counts
		b := market.BatchSummary{
			TaskID: it.TaskID, Status: it.Status, Source: it.Source, Datasets: it.Datasets,
			StartDate: dateString(it.Start), EndDate: dateString(it.End), Total: it.Total,
			Success: c.Success, Failed: c.Failed, Skipped: c.Skipped(), Closed: c.Closed,
			AlreadyLoaded: c.AlreadyLoaded, Cancelled: c.Cancelled, Pending: c.Pending, Running: c.Running,
			TradingDays: it.TradingDays, RowsLoaded: c.Rows, Priority: it.Priority,
			ProgressPercent: market.Percent(c.Success+c.Failed+c.AlreadyLoaded, it.TradingDays, it.Status.Finished()),
			CreatedAt:       it.CreatedAt, CreatedBy: it.CreatedBy, StartTime: it.StartedAt, EndTime: it.FinishedAt,
			Reason: it.Message,
		}
		if it.StartedAt != nil {
			secs := math.Round(it.Duration(now).Seconds()*10) / 10
			b.DurationSeconds = &secs
		}
		b.Message = catalog.SummaryLine(catalog.EN, b)
		out[i] = b
	}
	return out
}

// Errors pages through every failed attempt of the batch, newest first, and their count.
func (e *Engine) Errors(ctx context.Context, taskID string, limit, offset int) ([]market.ErrorRecord, int, error) {
	b, err := store.BatchByTaskID(ctx, e.pool, taskID)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return store.Errors(ctx, e.pool, b.ID, limit, max(offset, 0))
}

// Coverage tells which trading days of dataset between start and end are loaded,
// missing, or failed in their latest attempt.
func (e *Engine) Coverage(ctx context.Context, dataset string, start, end time.Time) (*market.Coverage, error) {
	ds, err := market.LookupDataset(dataset)
	if err != nil {
		return nil, err
	}
	days, err := e.cal.TradingDays(start, end)
	if err != nil {
		return nil, err
	}
	loaded, failed, err := store.Covered(ctx, e.pool, ds.Name, start, end)
	if err != nil {
		return nil, fmt.Errorf("reading coverage: %w", err)
	}
	cov := &market.Coverage{Dataset: ds.Name, Start: dateString(start), End: dateString(end)}
	for _, d := range days {
		cd := market.CoverageDay{Date: dateString(d), Status: market.CoverageMissing}
		if c, ok := loaded[d]; ok {
			cd.Status, cd.Rows, cd.SyncedAt, cd.Source = market.CoverageLoaded, c.Rows, c.SyncedAt, c.Source
			if c.VerifiedOK != nil {
				cd.Verified = map[bool]string{true: "ok", false: "differs"}[*c.VerifiedOK]
			}
			cov.Loaded++
		} else if failed[d] {
			cd.Status = market.CoverageFailed
			cov.FailedN++
		} else {
			cov.Missing++
		}
		cov.Days = append(cov.Days, cd)
	}
	return cov, nil
}

// CoverageYears are the first and the last year the coverage map can show: the
// calendar's, up to today.
func (e *Engine) CoverageYears() (first, last int) {
	end := e.cal.Last()
	if today := market.Today(e.cfg.Now()); today.Before(end) {
		end = today
	}
	return e.cal.First().Year(), end.Year()
}

// CoverageYear is Coverage of one year, up to today; a year outside CoverageYears is
// moved to the nearer of them.
func (e *Engine) CoverageYear(ctx context.Context, dataset string, year int) (*market.Coverage, error) {
	first, last := e.CoverageYears()
	year = max(min(year, last), first)
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	if start.Before(e.cal.First()) {
		start = e.cal.First()
	}
	end := time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC)
	if today := market.Today(e.cfg.Now()); today.Before(end) {
		end = today
	}
	if e.cal.Last().Before(end) {
		end = e.cal.Last()
	}
	cov, err := e.Coverage(ctx, dataset, start, end)
	if err != nil {
		return nil, err
	}
	cov.Year = year
	return cov, nil
}

// takeOver makes this engine's queue the batch's queue, where its days are queued from
// now on, and removes the jobs still waiting in its old queue.
func (e *Engine) takeOver(ctx context.Context, tx pgx.Tx, b *store.Batch) error {
	if b.Queue == e.cfg.Queue {
		return nil
	}
	old := b.Queue
	if err := store.MoveToQueue(ctx, tx, b.ID, e.cfg.Queue); err != nil {
		return err
	}
	b.Queue = e.cfg.Queue
	if old == river.QueueDefault {
		return nil // shared with other batches; their stale jobs are no-ops anyway
	}
	_, err := e.river.JobDeleteManyTx(ctx, tx, river.NewJobDeleteManyParams().Queues(old).
		States(rivertype.JobStateAvailable, rivertype.JobStateRetryable, rivertype.JobStateScheduled))
	if err != nil {
		return fmt.Errorf("removing the jobs of queue %s: %w", old, err)
	}
	return nil
}
