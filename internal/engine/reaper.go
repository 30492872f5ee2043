package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// sweepLoop runs the sweep every SweepInterval until ctx ends: days whose
// worker died go back to the front of the line, batches whose processes all died are
// adopted (with Adopt), and cancelled batches nobody will finish are finished. River's
// own rescuer would take a dead worker's job back only after RescueAfter plus its
// 30-second cycle.
func (e *Engine) sweepLoop(ctx context.Context) {
	tick := time.NewTicker(e.cfg.SweepInterval)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		e.sweep(ctx, n%3600 == 0)
	}
}

// sweep runs each step of the sweep once, logging what it did; prune also drops the
// records of workers long gone.
func (e *Engine) sweep(ctx context.Context, prune bool) {
	warn := func(what string, err error) {
		if err != nil && ctx.Err() == nil {
			e.log.Warn(what, "err", err)
		}
	}
	if e.cfg.Adopt {
		warn("looking for batches left by dead processes", e.adopt(ctx))
	}
	warn("finishing cancelled batches", e.finishCancelling(ctx))
	if n, err := store.DropEndedStages(ctx, e.pool); err != nil {
		warn("emptying the staging of ended batches", err)
	} else if n > 0 {
		e.log.Info("emptied the staging of ended batches", "batches", n)
	}
	n, err := e.requeueLost(ctx)
	warn("looking for days left by dead workers", err)
	if n > 0 {
		e.log.Warn("queued again, at the front, days whose worker is gone", "days", n)
	}
	if prune {
		warn("pruning the records of dead workers", store.PruneWorkers(ctx, e.pool, 7*24*time.Hour))
	}
}

// requeueLost queues again, at the front of the line, the days of this engine's queue
// whose job is running in River while its worker's lock is free: the process died,
// whether it had claimed the day or not. The lost job itself ends cancelled.
func (e *Engine) requeueLost(ctx context.Context) (int, error) {
	res, err := e.river.JobList(ctx, river.NewJobListParams().Queues(e.cfg.Queue).
		Kinds(dayArgs{}.Kind(), stageArgs{}.Kind()).States(rivertype.JobStateRunning).First(10000))
	if err != nil || len(res.Jobs) == 0 {
		return 0, err
	}
	// The jobs are read before the live workers: a worker locks before it takes a job,
	// so a job's worker missing from the list below is dead, not new.
	live, err := store.LiveWorkers(ctx, e.pool)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, job := range res.Jobs {
		if len(job.AttemptedBy) == 0 {
			continue
		}
		// This process never reaps its own jobs: its lock may be briefly down while it
		// reconnects after an outage, but it is plainly alive.
		if id, ok := workerOf(job.AttemptedBy[len(job.AttemptedBy)-1]); !ok || live[id] || id == e.worker {
			continue
		}
		if job.Kind == (stageArgs{}).Kind() {
			if err := e.requeueLostStage(ctx, job); err != nil {
				return n, err
			}
			continue
		}
		var a dayArgs
		if err := json.Unmarshal(job.EncodedArgs, &a); err != nil {
			return n, fmt.Errorf("reading job %d: %w", job.ID, err)
		}
		day, err := market.ParseDate(a.Day)
		if err != nil {
			return n, fmt.Errorf("reading job %d: %w", job.ID, err)
		}
		ok, err := e.requeueLostDay(ctx, job.ID, store.DayRef{BatchID: a.BatchID, Dataset: a.Dataset, Day: day, Gen: a.Gen})
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// requeueLostDay ends the lost job and, in the same transaction, queues its day again at
// the front (or cancels it, when its batch is stopping).
func (e *Engine) requeueLostDay(ctx context.Context, jobID int64, ref store.DayRef) (bool, error) {
	requeued := false
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		if err := store.FinalizeLostJob(ctx, tx, jobID); err != nil {
			return err
		}
		b, err := store.LockBatchByID(ctx, tx, ref.BatchID)
		if errors.Is(err, market.ErrNotFound) {
			return nil // the batch is gone; so is any need for the day
		}
		if err != nil {
			return err
		}
		day, ok, err := store.RequeueLost(ctx, tx, ref)
		if err != nil || !ok {
			return err
		}
		requeued = true
		if b.Status == market.BatchCancelling || b.Status.Finished() {
			if err := store.CancelPending(ctx, tx, b.ID); err != nil {
				return err
			}
			if _, err := e.finishIfDone(ctx, tx, b.ID); err != nil {
				return err
			}
		} else {
			if err := e.takeOver(ctx, tx, b); err != nil {
				return err
			}
			if err := e.enqueue(ctx, tx, b, []store.Day{day}, atFront); err != nil {
				return err
			}
		}
		return notify(ctx, tx, b.TaskID)
	})
	return requeued, err
}

// requeueLostStage ends a lost stage job and queues the fetch again, going on with the
// stocks not staged yet (unless its batch is paused or stopped meanwhile).
func (e *Engine) requeueLostStage(ctx context.Context, job *rivertype.JobRow) error {
	var a stageArgs
	if err := json.Unmarshal(job.EncodedArgs, &a); err != nil {
		return fmt.Errorf("reading job %d: %w", job.ID, err)
	}
	return e.inTx(ctx, func(tx pgx.Tx) error {
		if err := store.FinalizeLostJob(ctx, tx, job.ID); err != nil {
			return err
		}
		b, err := store.LockBatchByID(ctx, tx, a.BatchID)
		if errors.Is(err, market.ErrNotFound) {
			return nil
		}
		if err != nil || (b.Status != market.BatchRunning && b.Status != market.BatchQueued) {
			return err
		}
		if err := e.takeOver(ctx, tx, b); err != nil {
			return err
		}
		_, err = e.staging(ctx, tx, b)
		return err
	})
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
				if err := e.enqueue(ctx, tx, b, days, inTurn); err != nil {
					return err
				}
			}
			if _, err := e.finishIfDone(ctx, tx, b.ID); err != nil {
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
			if _, err := e.finishIfDone(ctx, tx, b.ID); err != nil {
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
