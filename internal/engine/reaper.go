package engine

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// reapLoop hands back, every ReapAfter/2, the days of this engine's queue left running by
// a process that died: River's own rescuer would take them back too, but only after
// RescueAfter plus its 30-second cycle.
func (e *Engine) reapLoop(ctx context.Context) {
	tick := time.NewTicker(e.cfg.ReapAfter / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if e.cfg.Adopt {
			if err := e.adopt(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("looking for batches left by dead processes", "err", err)
			}
		}
		if err := e.finishCancelling(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("finishing cancelled batches", "err", err)
		}
		if n, err := e.reap(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("looking for days left by dead workers", "err", err)
		} else if n > 0 {
			e.log.Warn("queued again days whose worker is gone", "days", n)
		}
		if n, err := e.reapUnclaimed(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("looking for jobs taken by dead workers", "err", err)
		} else if n > 0 {
			e.log.Warn("queued again days whose job a dead worker had taken", "days", n)
		}
	}
}

// reapUnclaimed queues again the pending days of this engine's queue whose job a worker
// took more than ReapAfter ago without claiming the day: the worker died in between
// (River's rescuer would run the job again only after RescueAfter and its 30 s cycle).
func (e *Engine) reapUnclaimed(ctx context.Context) (int, error) {
	stalled, err := store.UnclaimedDays(ctx, e.pool, e.cfg.Queue, dayArgs{}.Kind(), e.cfg.ReapAfter)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range stalled {
		err := e.inTx(ctx, func(tx pgx.Tx) error {
			b, err := store.LockBatchByID(ctx, tx, o.BatchID)
			if err != nil {
				return err
			}
			day, ok, err := store.RequeueUnclaimed(ctx, tx, o)
			if err != nil || !ok {
				return err
			}
			n++
			if err := e.enqueue(ctx, tx, b, []store.Day{day}); err != nil {
				return err
			}
			return notify(ctx, tx, b.TaskID)
		})
		if err != nil && !errors.Is(err, market.ErrNotFound) {
			return n, err
		}
	}
	return n, nil
}

// reap queues again every day of this engine's queue that has been running for longer
// than ReapAfter while nobody holds its (dataset, day) lock: its worker is gone, since a
// worker holds that lock for as long as it loads the day.
func (e *Engine) reap(ctx context.Context) (int, error) {
	orphans, err := store.Orphans(ctx, e.pool, e.cfg.Queue, e.cfg.ReapAfter)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range orphans {
		err := e.inTx(ctx, func(tx pgx.Tx) error {
			b, err := store.LockBatchByID(ctx, tx, o.BatchID)
			if err != nil {
				return err
			}
			if free, err := store.TryLockDay(ctx, tx, o.Dataset, o.Day); err != nil || !free {
				return err
			}
			day, ok, err := store.RequeueOrphan(ctx, tx, o)
			if err != nil || !ok {
				return err
			}
			n++
			if b.Status == market.BatchCancelling || b.Status.Finished() {
				if err := store.CancelPending(ctx, tx, b.ID); err != nil {
					return err
				}
				if _, err := store.FinishIfDone(ctx, tx, b.ID); err != nil {
					return err
				}
			} else {
				if err := e.takeOver(ctx, tx, b); err != nil {
					return err
				}
				if err := e.enqueue(ctx, tx, b, []store.Day{day}); err != nil {
					return err
				}
			}
			return notify(ctx, tx, b.TaskID)
		})
		if err != nil && !errors.Is(err, market.ErrNotFound) {
			return n, err
		}
	}
	return n, nil
}

// adopt takes over the unfinished batches of queues that no process works any more (a
// CLI killed mid-batch): their pending days are queued again on this engine's queue, and
// their running days are reaped like any other once their lock is free.
func (e *Engine) adopt(ctx context.Context) error {
	foreign, err := store.ForeignBatches(ctx, e.pool, e.cfg.Queue)
	if err != nil {
		return err
	}
	for _, fb := range foreign {
		n := 0
		adopted := false
		err := e.inTx(ctx, func(tx pgx.Tx) error {
			// The queue first: the batch's lock would bump its version for nothing
			// while its process lives.
			if free, err := store.TryLockQueue(ctx, tx, fb.Queue); err != nil || !free {
				return err
			}
			b, err := store.LockBatch(ctx, tx, fb.TaskID)
			if err != nil || b.Status.Finished() || b.Queue != fb.Queue {
				return err
			}
			adopted = true
			if err := e.takeOver(ctx, tx, b); err != nil {
				return err
			}
			if b.Status == market.BatchCancelling {
				if err := store.CancelPending(ctx, tx, b.ID); err != nil {
					return err
				}
			} else if b.Status != market.BatchPaused {
				days, err := store.Requeue(ctx, tx, b.ID, market.DayPending)
				if err != nil {
					return err
				}
				n = len(days)
				if err := e.enqueue(ctx, tx, b, days); err != nil {
					return err
				}
			}
			if _, err := store.FinishIfDone(ctx, tx, b.ID); err != nil {
				return err
			}
			return notify(ctx, tx, b.TaskID)
		})
		if err != nil && !errors.Is(err, market.ErrNotFound) {
			return err
		}
		if adopted {
			e.log.Warn("adopted a batch whose process is gone", "task_id", fb.TaskID, "queue", e.cfg.Queue, "days", n)
		}
	}
	return nil
}

// finishCancelling ends queue's batches stuck cancelling: no day of theirs runs, so the
// last day's rollback that would have ended them is not coming.
func (e *Engine) finishCancelling(ctx context.Context) error {
	ids, err := store.StuckCancelling(ctx, e.pool, e.cfg.Queue)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := e.inTx(ctx, func(tx pgx.Tx) error {
			b, err := store.LockBatch(ctx, tx, id)
			if err != nil || b.Status != market.BatchCancelling {
				return err
			}
			if err := store.CancelPending(ctx, tx, b.ID); err != nil {
				return err
			}
			if _, err := store.FinishIfDone(ctx, tx, b.ID); err != nil {
				return err
			}
			return notify(ctx, tx, id)
		})
		if err != nil && !errors.Is(err, market.ErrNotFound) {
			return err
		}
	}
	return nil
}
