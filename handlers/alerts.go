package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/marketsync/marketsync/internal/alert"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/views"
)

// Alerts is what the alerts settings ask of the engine: the webhooks and a test
// delivery. *engine.Engine satisfies it.
type Alerts interface {
	Webhooks(ctx context.Context) ([]*market.Webhook, error)
	Webhook(ctx context.Context, id int64) (*market.Webhook, error)
	SaveWebhook(ctx context.Context, w *market.Webhook, who market.Actor) error
	DeleteWebhook(ctx context.Context, id int64, who market.Actor) error
	SendTest(ctx context.Context, id int64) (alert.Result, error)
}

// alertRoutes registers the alerts settings: GET /settings/alerts lists the webhooks
// with a form to add one; each webhook has htmx actions to edit, enable or disable,
// delete and send a test. Without Config.Alerts there are none.
func (s *server) alertRoutes(settings fiber.Router) {
	if s.alerts == nil {
		return
	}
	g := settings.Group("/alerts")
	g.Get("/", s.alertsPage)
	g.Post("/", s.webhookAdd)
	g.Get("/:id", s.webhookRow)
	g.Post("/:id", s.webhookSave)
	g.Get("/:id/edit", s.webhookEdit)
	g.Post("/:id/enabled", s.webhookEnable)
	g.Post("/:id/delete", s.webhookDelete)
	g.Post("/:id/test", s.webhookTest)
}

// saveWebhook saves a webhook as the request's user and audits it.
func (s *server) saveWebhook(c *fiber.Ctx, w *market.Webhook, what string) error {
	if err := s.alerts.SaveWebhook(c.UserContext(), w, s.actor(c, market.OriginWeb)); err != nil {
		return err
	}
	s.audit(c, market.OriginWeb, market.AuditWebhook, "", fmt.Sprintf("%s #%d %q (%s, enabled %t)", what, w.ID, w.Name, w.Format, w.Enabled))
	return nil
}

func (s *server) alertsPage(c *fiber.Ctx) error {
	hooks, err := s.alerts.Webhooks(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.AlertsPage(s.locale(c), hooks, views.NewWebhookForm()))
}

// hook reads the webhook named by the path's :id; a malformed or unknown id is 404.
func (s *server) hook(c *fiber.Ctx) (*market.Webhook, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fiber.ErrNotFound
	}
	return s.alerts.Webhook(c.UserContext(), id)
}

func (s *server) webhookRow(c *fiber.Ctx) error {
	w, err := s.hook(c)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.WebhookRow(s.locale(c), w))
}

func (s *server) webhookEdit(c *fiber.Ctx) error {
	w, err := s.hook(c)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.WebhookFormView(s.locale(c), views.EditWebhookForm(w)))
}

// readWebhook fills w from the posted form: an empty URL or secret keeps what w holds
// (the saved one, when editing). It returns the form to show again if w is refused.
func readWebhook(c *fiber.Ctx, w *market.Webhook) views.WebhookForm {
	f := views.WebhookForm{ID: w.ID, SavedURL: w.MaskedURL(), HasSecret: w.Secret != ""}
	if w.ID == 0 {
		f.SavedURL = ""
	}
	w.Name = strings.TrimSpace(c.FormValue(views.FieldHookName))
	w.Format = market.WebhookFormat(strings.TrimSpace(c.FormValue(views.FieldHookFormat)))
	if u := strings.TrimSpace(c.FormValue(views.FieldHookURL)); u != "" || w.ID == 0 {
		w.URL, f.URL = u, u
	}
	if sec := strings.TrimSpace(c.FormValue(views.FieldHookSecret)); sec != "" {
		w.Secret = sec
	}
	w.Events = nil
	for _, ev := range formValues(c, views.FieldHookEvents) {
		w.Events = append(w.Events, market.AlertEvent(ev))
	}
	w.Enabled = isTrue(c.FormValue(views.FieldHookEnabled))
	f.Name, f.Format, f.Events, f.Enabled = w.Name, w.Format, w.Events, w.Enabled
	return f
}

// webhookErrKeys are the catalog keys of what is wrong with each webhook field.
var webhookErrKeys = map[string]string{
	views.FieldHookName:   "err.webhook_name",
	views.FieldHookURL:    "err.webhook_url",
	views.FieldHookFormat: "err.webhook_format",
	views.FieldHookEvents: "err.webhook_events",
}

// rejected answers a refused webhook form with 422 and a message by each field at
// fault; ok is false when w has no problems.
func (s *server) rejected(c *fiber.Ctx, w *market.Webhook, f views.WebhookForm) (bool, error) {
	problems := w.Check()
	if len(problems) == 0 {
		return false, nil
	}
	f.Errors = make(map[string]string, len(problems))
	for _, p := range problems {
		f.Errors[p.Field] = webhookErrKeys[p.Field]
	}
	return true, s.render(c, fiber.StatusUnprocessableEntity, views.WebhookFormView(s.locale(c), f))
}

// webhookAdd is POST /settings/alerts: the form reset and the list out of band, or the
// form again with its errors (422).
func (s *server) webhookAdd(c *fiber.Ctx) error {
	w := &market.Webhook{}
	f := readWebhook(c, w)
	if done, err := s.rejected(c, w, f); done {
		return err
	}
	if err := s.saveWebhook(c, w, "added"); err != nil {
		return err
	}
	if !isHTMX(c) {
		return c.Redirect("/settings/alerts", fiber.StatusSeeOther)
	}
	hooks, err := s.alerts.Webhooks(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.WebhookSaved(s.locale(c), hooks))
}

// webhookSave is POST /settings/alerts/:id from the edit form: the row, or the form
// again with its errors (422).
func (s *server) webhookSave(c *fiber.Ctx) error {
	w, err := s.hook(c)
	if err != nil {
		return err
	}
	f := readWebhook(c, w)
	if done, err := s.rejected(c, w, f); done {
		return err
	}
	if err := s.saveWebhook(c, w, "changed"); err != nil {
		return err
	}
	return s.renderRow(c, w.ID)
}

// webhookEnable is POST /settings/alerts/:id/enabled with enabled=true or false.
func (s *server) webhookEnable(c *fiber.Ctx) error {
	w, err := s.hook(c)
	if err != nil {
		return err
	}
	w.Enabled = isTrue(c.FormValue(views.FieldHookEnabled))
	if err := s.saveWebhook(c, w, "switched"); err != nil {
		return err
	}
	return s.renderRow(c, w.ID)
}

// renderRow answers with the webhook's row as saved.
func (s *server) renderRow(c *fiber.Ctx, id int64) error {
	w, err := s.alerts.Webhook(c.UserContext(), id)
	if err != nil {
		return err
	}
	if !isHTMX(c) {
		return c.Redirect("/settings/alerts", fiber.StatusSeeOther)
	}
	return s.render(c, fiber.StatusOK, views.WebhookRow(s.locale(c), w))
}

// webhookDelete is POST /settings/alerts/:id/delete: the row goes, the list comes back
// out of band.
func (s *server) webhookDelete(c *fiber.Ctx) error {
	w, err := s.hook(c)
	if err != nil {
		return err
	}
	if err := s.alerts.DeleteWebhook(c.UserContext(), w.ID, s.actor(c, market.OriginWeb)); err != nil {
		return err
	}
	s.audit(c, market.OriginWeb, market.AuditWebhook, "", fmt.Sprintf("deleted #%d %q", w.ID, w.Name))
	if !isHTMX(c) {
		return c.Redirect("/settings/alerts", fiber.StatusSeeOther)
	}
	hooks, err := s.alerts.Webhooks(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.WebhookList(s.locale(c), hooks, true))
}

// webhookTest is POST /settings/alerts/:id/test: it delivers a test alert now and
// answers with how it went (the HTTP status, or the robot's or the network's error; 502
// when it did not go through).
func (s *server) webhookTest(c *fiber.Ctx) error {
	w, err := s.hook(c)
	if err != nil {
		return err
	}
	res, err := s.alerts.SendTest(c.UserContext(), w.ID)
	var de *alert.DeliveryError
	switch {
	case err == nil:
		return s.render(c, fiber.StatusOK, views.WebhookTested(s.locale(c), res.Status, ""))
	case errors.As(err, &de):
		return s.render(c, fiber.StatusBadGateway, views.WebhookTested(s.locale(c), res.Status, de.Error()))
	}
	return err
}
