package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketsync/marketsync/internal/market"
)

const webhookColumns = `id, name, format, url, secret, events, enabled, created_at, created_by,
	updated_at, updated_by, coalesce(last_status, ''), last_at, coalesce(last_error, '')`

func scanWebhook(row pgx.Row) (*market.Webhook, error) {
	var w market.Webhook
	var events []string
	err := row.Scan(&w.ID, &w.Name, &w.Format, &w.URL, &w.Secret, &events, &w.Enabled, &w.CreatedAt,
		&w.CreatedBy, &w.UpdatedAt, &w.UpdatedBy, &w.LastStatus, &w.LastAt, &w.LastError)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no such webhook", market.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading a webhook: %w", err)
	}
	for _, ev := range events {
		w.Events = append(w.Events, market.AlertEvent(ev))
	}
	return &w, nil
}

func eventStrings(events []market.AlertEvent) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = string(ev)
	}
	return out
}

// Webhooks lists every webhook, oldest first.
func Webhooks(ctx context.Context, db DB) ([]*market.Webhook, error) {
	return queryWebhooks(ctx, db, `SELECT `+webhookColumns+` FROM webhooks ORDER BY id`)
}

// WebhooksFor lists the enabled webhooks that want ev.
func WebhooksFor(ctx context.Context, db DB, ev market.AlertEvent) ([]*market.Webhook, error) {
	return queryWebhooks(ctx, db, `SELECT `+webhookColumns+` FROM webhooks
		WHERE enabled AND $1 = ANY(events) ORDER BY id`, string(ev))
}

func queryWebhooks(ctx context.Context, db DB, sql string, args ...any) ([]*market.Webhook, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("listing webhooks: %w", err)
	}
	defer rows.Close()
	var out []*market.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Webhook reads one webhook; market.ErrNotFound when there is none with that id.
func Webhook(ctx context.Context, db DB, id int64) (*market.Webhook, error) {
	return scanWebhook(db.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, id))
}

// InsertWebhook adds w (created and updated by who) and sets its ID and times.
func InsertWebhook(ctx context.Context, db DB, w *market.Webhook, who string) error {
	err := db.QueryRow(ctx, `
		INSERT INTO webhooks (name, format, url, secret, events, enabled, created_by, updated_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		RETURNING id, created_at, updated_at`,
		w.Name, w.Format, w.URL, w.Secret, eventStrings(w.Events), w.Enabled, who,
	).Scan(&w.ID, &w.CreatedAt, &w.UpdatedAt)
	if err != nil {
		return fmt.Errorf("adding a webhook: %w", err)
	}
	w.CreatedBy, w.UpdatedBy = who, who
	return nil
}

// UpdateWebhook saves w's name, format, URL, secret, events and enabled, updated by
// who; market.ErrNotFound when it is gone.
func UpdateWebhook(ctx context.Context, db DB, w *market.Webhook, who string) error {
	tag, err := db.Exec(ctx, `
		UPDATE webhooks SET name = $2, format = $3, url = $4, secret = $5, events = $6, enabled = $7,
			updated_by = $8, updated_at = now()
		WHERE id = $1`,
		w.ID, w.Name, w.Format, w.URL, w.Secret, eventStrings(w.Events), w.Enabled, who)
	if err != nil {
		return fmt.Errorf("saving a webhook: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: no such webhook", market.ErrNotFound)
	}
	return nil
}

// DeleteWebhook removes a webhook; market.ErrNotFound when it is gone. Alerts queued
// for it are dropped when they come up.
func DeleteWebhook(ctx context.Context, db DB, id int64) error {
	tag, err := db.Exec(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("deleting a webhook: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: no such webhook", market.ErrNotFound)
	}
	return nil
}

// RecordDelivery records how the webhook's latest delivery went (market.DeliveryOK,
// DeliveryRetrying or DeliveryFailed), at when, with its error ("" for none).
func RecordDelivery(ctx context.Context, db DB, id int64, status string, when time.Time, errMsg string) error {
	var e *string
	if errMsg != "" {
		e = &errMsg
	}
	_, err := db.Exec(ctx, `UPDATE webhooks SET last_status = $2, last_at = $3, last_error = $4 WHERE id = $1`,
		id, status, when, e)
	if err != nil {
		return fmt.Errorf("recording a delivery: %w", err)
	}
	return nil
}

// NewestError is the newest final error of a batch's days, "date: message", or "" when
// no day failed (an alert quotes it).
func NewestError(ctx context.Context, db DB, batchID int64) (string, error) {
	var day time.Time
	var msg string
	err := db.QueryRow(ctx, `
		SELECT day, message FROM day_errors WHERE batch_id = $1 AND final
		ORDER BY id DESC LIMIT 1`, batchID).Scan(&day, &msg)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the newest error: %w", err)
	}
	return day.Format(market.DateLayout) + ": " + msg, nil
}
