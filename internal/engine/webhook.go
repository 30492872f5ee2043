package engine

import (
	"context"
	"strings"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// Webhooks lists every webhook, oldest first.
func (e *Engine) Webhooks(ctx context.Context) ([]*market.Webhook, error) {
	return store.Webhooks(ctx, e.pool)
}

// Webhook reads one webhook; market.ErrNotFound when there is none.
func (e *Engine) Webhook(ctx context.Context, id int64) (*market.Webhook, error) {
	return store.Webhook(ctx, e.pool, id)
}

// SaveWebhook adds w (ID 0) or saves it, recording who. An invalid webhook is refused
// with its problems (market.ErrWebhook, wrapping market.ErrInvalidInput); the log
// names the webhook and its host, never its URL.
func (e *Engine) SaveWebhook(ctx context.Context, w *market.Webhook, who market.Actor) error {
	w.Name = strings.TrimSpace(w.Name)
	w.URL = strings.TrimSpace(w.URL)
	if err := market.ErrWebhook(w.Check()); err != nil {
		return err
	}
	var err error
	if w.ID == 0 {
		err = store.InsertWebhook(ctx, e.pool, w, who.String())
	} else {
		err = store.UpdateWebhook(ctx, e.pool, w, who.String())
	}
	if err == nil {
		e.log.Info("webhook saved", "webhook", w.ID, "name", w.Name, "format", w.Format, "url", w.MaskedURL(),
			"events", w.Events, "enabled", w.Enabled, "by", who.String())
	}
	return err
}

// DeleteWebhook removes a webhook; market.ErrNotFound when it is gone.
func (e *Engine) DeleteWebhook(ctx context.Context, id int64, who market.Actor) error {
	err := store.DeleteWebhook(ctx, e.pool, id)
	if err == nil {
		e.log.Info("webhook deleted", "webhook", id, "by", who.String())
	}
	return err
}
