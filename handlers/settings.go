package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/views"
)

// Schedules is what the settings page and the dashboard ask of the daily schedules.
// *engine.Scheduler satisfies it.
type Schedules interface {
	Schedules(ctx context.Context) ([]market.Schedule, error)
	SaveSchedule(ctx context.Context, in market.ScheduleInput, who market.Actor) (*market.Schedule, error)
	DeleteSchedule(ctx context.Context, id int64, who market.Actor) (*market.Schedule, error)
}

// settingsRoutes adds the settings page (GET /settings) and its schedule form (POST
// /settings/schedules). Who may use them is the accounts' business, not this file's.
func (s *server) settingsRoutes(settings fiber.Router) {
	if s.schedules == nil {
		return
	}
	settings.Get("/", s.settingsPage)
	settings.Post("/schedules", s.saveSchedule)
	settings.Post("/schedules/:id/delete", s.deleteSchedule)
}

// deleteSchedule is POST /settings/schedules/:id/delete: the schedule goes (audited);
// htmx gets the card again, a plain form the page.
func (s *server) deleteSchedule(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	sch, err := s.schedules.DeleteSchedule(c.UserContext(), id, s.actor(c, market.OriginWeb))
	if err != nil {
		return err
	}
	s.audit(c, market.OriginWeb, market.AuditSchedule, "", fmt.Sprintf("deleted %s/%s", sch.Dataset, sch.Source))
	if !isHTMX(c) {
		return c.Redirect("/settings", fiber.StatusSeeOther)
	}
	loc := s.locale(c)
	sec, err := s.scheduleSection(c.UserContext(), views.ScheduleForm{Saved: loc.T("settings.deleted", sch.Dataset, sch.Source)})
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.SchedulesCard(loc, sec))
}

// settingsPage is GET /settings: the daily schedules, each with its next run and last
// outcome, and a form to add one.
func (s *server) settingsPage(c *fiber.Ctx) error {
	sec, err := s.scheduleSection(c.UserContext(), views.ScheduleForm{})
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.SettingsPage(s.locale(c), views.SettingsData{Schedules: sec}))
}

// scheduleSection reads the schedules and the sources into the page's section.
func (s *server) scheduleSection(ctx context.Context, form views.ScheduleForm) (views.ScheduleSection, error) {
	list, err := s.schedules.Schedules(ctx)
	if err != nil {
		return views.ScheduleSection{}, err
	}
	if form.Time == "" {
		form.Time, form.Enabled = market.DefaultScheduleTime.String(), true
	}
	return views.ScheduleSection{Schedules: list, Sources: s.batches.Sources(), Form: form}, nil
}

// saveSchedule is POST /settings/schedules (dataset, source, time HH:MM, enabled): adds
// the schedule of the dataset and source, or changes its time and whether it runs. A bad
// value answers 422 with what is wrong and changes nothing. htmx gets the section back
// (with the message); a plain POST goes back to the page.
func (s *server) saveSchedule(c *fiber.Ctx) error {
	form := views.ScheduleForm{
		Dataset: strings.TrimSpace(c.FormValue("dataset")),
		Source:  strings.TrimSpace(c.FormValue("source")),
		Time:    strings.TrimSpace(c.FormValue("time")),
		Enabled: isTrue(c.FormValue("enabled")),
	}
	in, err := scheduleInput(form)
	if err == nil {
		_, err = s.schedules.SaveSchedule(c.UserContext(), in, s.actor(c, market.OriginWeb))
	}
	if err == nil {
		s.audit(c, market.OriginWeb, market.AuditSchedule, "", fmt.Sprintf("%s/%s at %s, enabled %t", in.Dataset, in.Source, in.At, in.Enabled))
	}
	status, loc := fiber.StatusOK, s.locale(c)
	if err != nil {
		if status, _ = s.classify(c.UserContext(), err); status >= 500 {
			return err
		}
		form.Error = loc.T("settings.rejected", market.Reason(err))
	} else {
		if !isHTMX(c) {
			return c.Redirect("/settings", fiber.StatusSeeOther)
		}
		form = views.ScheduleForm{Saved: loc.T("settings.saved", in.Dataset, in.Source, in.At.String())}
	}
	sec, err := s.scheduleSection(c.UserContext(), form)
	if err != nil {
		return err
	}
	if isHTMX(c) {
		return s.render(c, status, views.SchedulesCard(loc, sec))
	}
	return s.render(c, status, views.SettingsPage(loc, views.SettingsData{Schedules: sec}))
}

// scheduleInput checks the form's dataset and time (the engine checks the source).
func scheduleInput(f views.ScheduleForm) (market.ScheduleInput, error) {
	if _, err := market.LookupDataset(f.Dataset); err != nil {
		return market.ScheduleInput{}, err
	}
	at, err := market.ParseTimeOfDay(f.Time)
	if err != nil {
		return market.ScheduleInput{}, err
	}
	return market.ScheduleInput{Dataset: f.Dataset, Source: f.Source, At: at, Enabled: f.Enabled}, nil
}

// nextSchedules is the dashboard's schedule panel: every schedule, with its next run and
// last outcome (none when this server keeps no schedules).
func (s *server) nextSchedules(ctx context.Context) ([]market.Schedule, error) {
	if s.schedules == nil {
		return nil, nil
	}
	return s.schedules.Schedules(ctx)
}
