package engine

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/marketsync/marketsync/internal/alert"
	"github.com/marketsync/marketsync/internal/market"
)

// scheduleAlerts is the Scheduler's observer unless one is given: a run that did not
// start (skipped, or refused) and a scheduled batch that ended badly (failed, cancelled,
// or completed with failed days) alert the webhooks that asked for those events.
type scheduleAlerts struct{ e *Engine }

func (a scheduleAlerts) ScheduleFired(context.Context, market.ScheduleRun) {}

func (a scheduleAlerts) ScheduleSkipped(ctx context.Context, run market.ScheduleRun) {
	a.raise(ctx, market.AlertScheduleMissed, run)
}

func (a scheduleAlerts) ScheduleEnded(ctx context.Context, run market.ScheduleRun) {
	if run.BatchStatus == market.BatchCompleted && run.FailedDays == 0 {
		return
	}
	a.raise(ctx, market.AlertScheduleFailed, run)
}

func (a scheduleAlerts) raise(ctx context.Context, kind market.AlertEvent, run market.ScheduleRun) {
	ev := alert.Event{Kind: kind, Schedule: run.Dataset + "/" + run.Source + " " + dateString(run.Day),
		TaskID: run.TaskID, Status: run.BatchStatus, Failed: run.FailedDays, Message: run.Message}
	err := a.e.inTx(ctx, func(tx pgx.Tx) error { return a.e.Alert(ctx, tx, ev) })
	if err != nil {
		a.e.log.Error("queueing a schedule alert", "event", kind, "dataset", run.Dataset, "err", err)
	}
}
