package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/marketsync/marketsync/internal/alert"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// AlertQueue is the River queue of alert deliveries. Every engine that works days works
// it too, whichever queue its days are in: an alert raised by the CLI's batch goes out
// from any process.
const AlertQueue = "marketsync_alert"

// alertArgs is the queued delivery of one event to one webhook.
type alertArgs struct {
	WebhookID int64       `json:"webhook_id"`
	Event     alert.Event `json:"event"`
}

// Kind is the River job kind.
func (alertArgs) Kind() string { return "marketsync.alert" }

// Alert queues ev for every enabled webhook that wants it, in tx: the deliveries exist
// exactly when tx commits, and go out after (River retries each with backoff, up to
// AlertAttempts). The scheduler calls it for market.AlertScheduleMissed and
// AlertScheduleFailed in the transaction that records the run; the engine calls it
// itself when a batch ends failed or with failed days.
func (e *Engine) Alert(ctx context.Context, tx pgx.Tx, ev alert.Event) error {
	if ev.Time.IsZero() {
		ev.Time = e.cfg.Now().UTC()
	}
	hooks, err := store.WebhooksFor(ctx, tx, ev.Kind)
	if err != nil || len(hooks) == 0 {
		return err
	}
	params := make([]river.InsertManyParams, len(hooks))
	for i, w := range hooks {
		params[i] = river.InsertManyParams{
			Args:       alertArgs{WebhookID: w.ID, Event: ev},
			InsertOpts: &river.InsertOpts{Queue: AlertQueue, MaxAttempts: e.cfg.AlertAttempts},
		}
	}
	if _, err := e.river.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("queueing %d alerts: %w", len(hooks), err)
	}
	return nil
}

// batchEnded raises the alert of a batch that has just ended, inside the transaction
// that ended it, when market.BatchAlert says its end deserves one.
func (e *Engine) batchEnded(ctx context.Context, tx pgx.Tx, batchID int64) error {
	b, err := store.LockBatchByID(ctx, tx, batchID)
	if err != nil {
		return err
	}
	c, err := store.CountDays(ctx, tx, batchID)
	if err != nil {
		return err
	}
	kind, ok := market.BatchAlert(b.Status, c.Failed)
	if !ok {
		return nil
	}
	ev := alert.Event{Kind: kind, TaskID: b.TaskID, Status: b.Status, Total: b.Total,
		Success: c.Success, Failed: c.Failed, Skipped: c.Skipped(), Message: b.Message}
	if ev.Message == "" && c.Failed > 0 {
		if ev.Message, err = store.NewestError(ctx, tx, batchID); err != nil {
			return err
		}
	}
	return e.Alert(ctx, tx, ev)
}

// finishIfDone ends the batch when its days are all finished (store.FinishIfDone), and
// raises its alert in the same transaction.
func (e *Engine) finishIfDone(ctx context.Context, tx pgx.Tx, batchID int64) (market.BatchStatus, error) {
	final, err := store.FinishIfDone(ctx, tx, batchID)
	if err != nil || final == "" {
		return final, err
	}
	return final, e.batchEnded(ctx, tx, batchID)
}

// alertWorker delivers one alert per job. A failed attempt returns its error, and River
// tries again after the backoff; the webhook's row says how the latest went.
type alertWorker struct {
	river.WorkerDefaults[alertArgs]
	e *Engine
}

// Work posts the event to the webhook, unless the webhook is gone or disabled since.
func (w *alertWorker) Work(ctx context.Context, job *river.Job[alertArgs]) error {
	e := w.e
	hook, err := store.Webhook(ctx, e.pool, job.Args.WebhookID)
	if errors.Is(err, market.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !hook.Enabled {
		return nil
	}
	_, sendErr := e.alerts.Send(ctx, hook, job.Args.Event)
	status, msg := market.DeliveryOK, ""
	if sendErr != nil {
		status, msg = market.DeliveryRetrying, sendErr.Error()
		if job.Attempt >= job.MaxAttempts {
			status = market.DeliveryFailed
		}
	}
	if err := store.RecordDelivery(context.WithoutCancel(ctx), e.pool, hook.ID, status, e.cfg.Now(), msg); err != nil {
		e.log.Warn("recording an alert's delivery", "webhook", hook.ID, "err", err)
	}
	attrs := []any{"webhook", hook.ID, "name", hook.Name, "event", job.Args.Event.Kind, "task_id", job.Args.Event.TaskID,
		"attempt", job.Attempt}
	switch status {
	case market.DeliveryOK:
		e.log.Info("alert delivered", attrs...)
	case market.DeliveryRetrying:
		e.log.Warn("alert not delivered; will retry", append(attrs, "err", msg)...)
	default:
		e.log.Error("alert not delivered; giving up", append(attrs, "err", msg)...)
	}
	return sendErr
}

// SendTest delivers a test alert to webhook id now, and reports how it went; the
// webhook's row records it like any delivery.
func (e *Engine) SendTest(ctx context.Context, id int64) (alert.Result, error) {
	hook, err := store.Webhook(ctx, e.pool, id)
	if err != nil {
		return alert.Result{}, err
	}
	res, sendErr := e.alerts.Send(ctx, hook, e.alerts.Test(hook))
	status, msg := market.DeliveryOK, ""
	if sendErr != nil {
		status, msg = market.DeliveryFailed, sendErr.Error()
	}
	if err := store.RecordDelivery(ctx, e.pool, hook.ID, status, e.cfg.Now(), msg); err != nil {
		return res, err
	}
	return res, sendErr
}
