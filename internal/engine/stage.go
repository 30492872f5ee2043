package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// RangeSource is a source that answers one stock over a whole date range per call, and
// the whole market's day only at one call per stock (Baostock). A batch from it runs in
// two phases: a stage job fetches every stock listed in the batch's range once into
// staging, one stock a transaction (a restart goes on with the stocks not staged yet);
// then each day loads from staging in its own transaction, as from any source.
type RangeSource interface {
	Source
	// Listings lists the stocks listed at some point from start to end.
	Listings(ctx context.Context, start, end time.Time) ([]market.Listing, error)
	// FetchRange returns one stock's rows over req's range, by dataset name, in each
	// dataset's column order.
	FetchRange(ctx context.Context, req market.RangeRequest) (map[string][][]any, error)
}

// stageArgs is the job that fetches a range source's batch into staging.
type stageArgs struct {
	BatchID int64  `json:"batch_id"`
	TaskID  string `json:"task_id"`
	Source  string `json:"source"`
}

// Kind is the River job kind.
func (stageArgs) Kind() string { return "marketsync.stage" }

// stageWorker runs stage jobs.
type stageWorker struct {
	river.WorkerDefaults[stageArgs]
	e *Engine
}

// Timeout lifts the per-day timeout: a year of 5,000 stocks takes minutes; each call has
// the source's own timeout.
func (w *stageWorker) Timeout(*river.Job[stageArgs]) time.Duration { return -1 }

// stageStates are the states in which a batch's stage job counts as queued already.
var stageStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

// rangeSource returns the batch's source when it is a range source configured here.
func (e *Engine) rangeSource(name string) (RangeSource, bool) {
	src, err := e.source(name)
	if err != nil {
		return nil, false
	}
	rs, ok := src.(RangeSource)
	return rs, ok
}

// staging reports whether days of b must wait for its stage job, queuing that job in tx
// when so: b's source is a range source and its staging is not complete.
func (e *Engine) staging(ctx context.Context, tx pgx.Tx, b *store.Batch) (bool, error) {
	if _, ok := e.rangeSource(b.Source); !ok {
		return false, nil
	}
	run, err := store.GetStage(ctx, tx, b.ID)
	if err != nil || run.Ready() {
		return false, err
	}
	_, err = e.river.InsertTx(ctx, tx, stageArgs{BatchID: b.ID, TaskID: b.TaskID, Source: b.Source}, &river.InsertOpts{
		Queue: b.Queue, Priority: b.Priority, MaxAttempts: e.cfg.MaxAttempts,
		// One per batch and queue: a batch adopted from a dead process gets its own in the
		// new queue, whatever became of the old one.
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByQueue: true, ByState: stageStates},
	})
	return true, err
}

// Work fetches every stock of the batch not staged yet, then queues the batch's pending
// days. A paused or stopped batch ends the job; resuming queues it again.
func (w *stageWorker) Work(ctx context.Context, job *river.Job[stageArgs]) error {
	e, a := w.e, job.Args
	rs, ok := e.rangeSource(a.Source)
	if !ok {
		return river.JobSnooze(10 * time.Second) // another process has this source
	}
	ctx, done := e.inflight.track(ctx, a.BatchID)
	defer done()
	b, claimed, err := store.ClaimStage(ctx, e.pool, a.BatchID, ProgressChannel)
	if err != nil || !claimed {
		return err
	}
	run, err := e.prepareStage(ctx, rs, b)
	if err == nil {
		err = e.fetchStocks(ctx, rs, b, run)
	}
	switch {
	case errors.Is(err, errShuttingDown), err != nil && e.stopping.Load():
		return river.JobSnooze(time.Second) // shutting down: the next process goes on
	case errors.Is(err, errBatchStopped), ctx.Err() != nil:
		return nil // paused, cancelled or failed meanwhile
	case err != nil:
		return e.stageFailed(ctx, job, b, err)
	}
	return e.stageReady(ctx, b)
}

// prepareStage returns b's staging run, creating it with the stocks to fetch when it has
// none: every stock listed at some point of the span of b's pending days.
func (e *Engine) prepareStage(ctx context.Context, rs RangeSource, b *store.Batch) (*store.StageRun, error) {
	run, err := store.GetStage(ctx, e.pool, b.ID)
	if err != nil || run != nil {
		return run, err
	}
	start, end, ok, err := store.PendingSpan(ctx, e.pool, b.ID)
	if err != nil || !ok {
		return nil, err
	}
	stocks, err := rs.Listings(ctx, start, end)
	if err != nil {
		return nil, fmt.Errorf("listing the stocks: %w", err)
	}
	run = &store.StageRun{BatchID: b.ID, Start: start, End: end, Datasets: b.Datasets, StartedAt: e.cfg.Now()}
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		if err := store.CreateStage(ctx, tx, run, stocks); err != nil {
			return err
		}
		return notify(ctx, tx, b.TaskID)
	})
	if err == nil {
		e.log.Info(fmt.Sprintf("fetching %d stocks from %s, %s to %s, one call each", len(stocks), rs.Name(),
			dateString(start), dateString(end)), "task_id", b.TaskID)
	}
	return run, err
}

// stageGroup is how many fetched stocks go into staging in one transaction, and
// stageFlushEvery the longest a fetched stock waits for it: the writes overlap the next
// fetches, and progress shows at least every second.
const (
	stageGroup      = 100
	stageFlushEvery = time.Second
	stageCheckEvery = 200 * time.Millisecond // how often the fetch looks for a pause
)

// fetchStocks fetches the stocks of run not staged yet, one after another (Baostock
// wants one request at a time), while a writer puts them into staging in groups.
func (e *Engine) fetchStocks(ctx context.Context, rs RangeSource, b *store.Batch, run *store.StageRun) error {
	if run == nil {
		return nil // no pending day: nothing to fetch
	}
	stocks, err := store.StocksToFetch(ctx, e.pool, b.ID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	groups := make(chan []store.StagedStock, 2)
	written := make(chan error, 1)
	go func() {
		var err error
		for g := range groups {
			if err == nil {
				if err = e.stageGroup(ctx, b, g); err != nil {
					cancel(err) // stops the fetching
				}
			}
		}
		written <- err
	}()
	fetchErr := e.fetchInto(ctx, rs, run, stocks, groups)
	close(groups)
	if err := <-written; err != nil {
		return err
	}
	return fetchErr
}

// fetchOverlap is how many stocks are fetched at once. The source's client still sends
// one request at a time on one connection (Baostock blacklists parallel clients); the
// second fetch decodes and maps one stock's answer while the other's request is on the
// wire.
const fetchOverlap = 2

// fetchInto fetches each stock and sends them in groups to groups. The first failure
// stops it: a fetch's error, or errBatchStopped when the batch is paused or stopped.
func (e *Engine) fetchInto(ctx context.Context, rs RangeSource, run *store.StageRun, stocks []market.Listing, groups chan<- []store.StagedStock) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	todo := make(chan market.Listing)
	results := make(chan store.StagedStock)
	go e.feedStocks(ctx, cancel, run.BatchID, stocks, todo)
	var wg sync.WaitGroup
	for range fetchOverlap {
		wg.Go(func() {
			for l := range todo {
				req := market.RangeRequest{Listing: l, Start: run.Start, End: run.End, Datasets: run.Datasets,
					MaxRows: e.maxRows(later(run.Start, l.ListDate), earlier(run.End, l.DelistDate))}
				rows, err := rs.FetchRange(ctx, req)
				if err != nil {
					cancel(fmt.Errorf("fetching %s: %w", l.TSCode, err))
					return
				}
				select {
				case results <- store.StagedStock{Code: l.TSCode, Rows: rows}:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(results) }()

	var group []store.StagedStock
	since := e.cfg.Now()
	for r := range results {
		group = append(group, r)
		if len(group) >= stageGroup || e.cfg.Now().Sub(since) >= stageFlushEvery {
			select {
			case groups <- group:
			case <-ctx.Done():
			}
			group, since = nil, e.cfg.Now()
		}
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	if len(group) > 0 {
		groups <- group
	}
	return nil
}

// feedStocks hands the stocks out one by one, looking every stageCheckEvery whether the
// batch still runs (a pause stops the fetch soon). A process shutting down stops handing
// out at once: what is staged stays, and the next process fetches the rest.
func (e *Engine) feedStocks(ctx context.Context, stop context.CancelCauseFunc, batchID int64, stocks []market.Listing, todo chan<- market.Listing) {
	defer close(todo)
	checked := e.cfg.Now()
	for _, l := range stocks {
		if e.stopping.Load() {
			stop(errShuttingDown)
			return
		}
		if e.cfg.Now().Sub(checked) >= stageCheckEvery {
			checked = e.cfg.Now()
			if st, err := store.BatchStatus(ctx, e.pool, batchID); err != nil || st != market.BatchRunning {
				stop(cmpErr(err, errBatchStopped))
				return
			}
		}
		select {
		case todo <- l:
		case <-ctx.Done():
			return
		}
	}
}

// stageGroup writes fetched stocks into staging in one transaction, unless the batch
// stopped running meanwhile (errBatchStopped), and notifies the progress.
func (e *Engine) stageGroup(ctx context.Context, b *store.Batch, group []store.StagedStock) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		if st, err := store.BatchStatus(ctx, tx, b.ID); err != nil || st != market.BatchRunning {
			return cmpErr(err, errBatchStopped)
		}
		if _, err := store.StageStocks(ctx, tx, b.ID, group); err != nil {
			return err
		}
		return notify(ctx, tx, b.TaskID)
	})
}

// maxRows is the most daily rows a stock can have from start to end: the trading days
// (0, unknown, when the calendar cannot say).
func (e *Engine) maxRows(start, end time.Time) int {
	if end.Before(start) {
		return 0
	}
	days, err := e.cal.TradingDays(start, end)
	if err != nil {
		return 0
	}
	return len(days)
}

// cmpErr returns err, or alt when err is nil.
func cmpErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// later is the later of two dates; a zero b is ignored.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// earlier is the earlier of two dates; a zero b (not delisted) is ignored.
func earlier(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// stageReady marks b's staging complete and queues its pending days, which now load
// from staging.
func (e *Engine) stageReady(ctx context.Context, b *store.Batch) error {
	n := 0
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		lb, err := store.LockBatchByID(ctx, tx, b.ID)
		if err != nil {
			return err
		}
		if err := store.MarkStageReady(ctx, tx, b.ID); err != nil {
			return err
		}
		if lb.Status != market.BatchRunning && lb.Status != market.BatchQueued {
			return notify(ctx, tx, b.TaskID) // paused: resuming queues the days
		}
		days, err := store.Requeue(ctx, tx, b.ID, market.DayPending)
		if err != nil {
			return err
		}
		n = len(days)
		if err := e.enqueue(ctx, tx, lb, days, inTurn); err != nil {
			return err
		}
		return notify(ctx, tx, b.TaskID)
	})
	if err == nil {
		e.log.Info(fmt.Sprintf("every stock fetched; loading %d days from staging", n), "task_id", b.TaskID)
	}
	return err
}

// stageFailed decides what a failed fetch means: a refusal fails the batch at once (a
// blacklisted address, a bad account), as does the last attempt; otherwise River tries
// the job again after its backoff, going on with the stocks not staged yet.
func (e *Engine) stageFailed(ctx context.Context, job *river.Job[stageArgs], b *store.Batch, fetchErr error) error {
	msg := fetchErr.Error()
	final := errors.Is(fetchErr, market.ErrSourceRefused) || job.Attempt >= job.MaxAttempts
	if !final {
		e.log.Warn(fmt.Sprintf("fetching stocks failed (attempt %d of %d), will go on: %s", job.Attempt, job.MaxAttempts, msg),
			"task_id", b.TaskID, "err", msg)
		return fetchErr
	}
	log := e.log.With("task_id", b.TaskID)
	err := e.persist(ctx, log, func(bg context.Context, tx pgx.Tx) error {
		lb, err := store.LockBatchByID(bg, tx, b.ID)
		if err != nil || lb.Status.Finished() || lb.Status == market.BatchCancelling {
			return err
		}
		if err := e.failBatch(bg, tx, log, lb, msg); err != nil {
			return err
		}
		return notify(bg, tx, b.TaskID)
	})
	if err != nil {
		e.log.Error("recording a failed fetch", "task_id", b.TaskID, "err", err)
		return fetchErr
	}
	return river.JobCancel(fetchErr)
}
