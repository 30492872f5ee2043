package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/marketsync/marketsync/internal/store"
)

// River works a queue's available jobs by priority, then scheduled_at. The engine gives
// every day job a scheduled_at in the past, as a place in line rather than a time:
//
//   - a batch's days take consecutive places starting at the head of the line of their
//     priority, so batches of equal priority share the workers day for day, and a small
//     batch started after a ten-year one is not held back behind it;
//   - a day whose worker died goes to the very front.
//
// Places are milliseconds after placeEpoch (twenty years of daily data is some 30,000
// days, half a minute of places); availableNow keeps River from treating them as
// scheduled for later.
var (
	frontOfLine = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	placeEpoch  = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	placeStep   = time.Millisecond
	lastPlace   = placeEpoch.AddDate(1, 0, 0)
)

// placement says where a batch's queued days go in line.
type placement int

const (
	inTurn  placement = iota // after the head of the line: shared fairly with peers
	atFront                  // ahead of every day not started yet: lost by a dead worker
)

// availableNow is the River hook that inserts a day job placed in line (a scheduled_at
// in the past) as available, never as scheduled: River's scheduler would only move it
// some seconds later.
var availableNow = river.HookInsertBeginFunc(func(_ context.Context, p *rivertype.JobInsertParams) error {
	if p.Kind == (dayArgs{}).Kind() && p.State == rivertype.JobStateScheduled &&
		p.ScheduledAt != nil && !p.ScheduledAt.After(lastPlace) {
		p.State = rivertype.JobStateAvailable
	}
	return nil
})

// enqueue inserts one job per day into the batch's queue, in date order, placed in line
// as where says. The days of a range source's batch wait, pending, for its fetch into
// staging: its stage job is queued instead, and queues them when it is done.
func (e *Engine) enqueue(ctx context.Context, tx pgx.Tx, b *store.Batch, days []store.Day, where placement) error {
	if len(days) == 0 {
		return nil
	}
	if waiting, err := e.staging(ctx, tx, b); err != nil || waiting {
		return err
	}
	slices.SortFunc(days, func(x, y store.Day) int {
		return cmp.Or(x.Day.Compare(y.Day), cmp.Compare(x.Dataset, y.Dataset))
	})
	place := frontOfLine
	if where == inTurn {
		head, err := e.headOfLine(ctx, tx, b.Queue, b.Priority)
		if err != nil {
			return err
		}
		place = head
	}
	params := make([]river.InsertManyParams, len(days))
	for i, d := range days {
		params[i] = river.InsertManyParams{
			Args: dayArgs{BatchID: b.ID, TaskID: b.TaskID, Source: b.Source, Dataset: d.Dataset, Day: dateString(d.Day), Gen: d.Gen},
			InsertOpts: &river.InsertOpts{
				Queue: b.Queue, Priority: b.Priority, MaxAttempts: e.cfg.MaxAttempts,
				ScheduledAt: place,
			},
		}
		if where == inTurn {
			place = place.Add(placeStep)
		}
	}
	if _, err := e.river.InsertManyFastTx(ctx, tx, params); err != nil {
		return fmt.Errorf("queueing %d days: %w", len(days), err)
	}
	return nil
}

// headOfLine is the place of the first day job waiting in queue at priority: new days
// join there, taking turns with the days already waiting. An empty line starts at
// placeEpoch.
func (e *Engine) headOfLine(ctx context.Context, tx pgx.Tx, queue string, priority int) (time.Time, error) {
	res, err := e.river.JobListTx(ctx, tx, river.NewJobListParams().
		Queues(queue).Kinds(dayArgs{}.Kind()).Priorities(int16(priority)).
		States(rivertype.JobStateAvailable).
		Where("scheduled_at BETWEEN @first AND @last", river.NamedArgs{"first": placeEpoch, "last": lastPlace}).
		OrderBy(river.JobListOrderByScheduledAt, river.SortOrderAsc).First(1))
	if err != nil {
		return time.Time{}, fmt.Errorf("finding the head of queue %s: %w", queue, err)
	}
	if len(res.Jobs) == 0 {
		return placeEpoch, nil
	}
	return res.Jobs[0].ScheduledAt, nil
}
