package handlers

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/views"
)

// Page sizes of the HTML lists.
const (
	historyPageSize = 25
	errorsPageSize  = 50
	dashboardRows   = 10
)

// langCookie remembers the language a viewer chose.
const langCookie = "lang"

// locale is how a request's page speaks: ?lang=en|zh (a link to a page in a language),
// else the cookie's language, else Accept-Language.
func (s *server) locale(c *fiber.Ctx) views.Locale {
	chosen := c.Cookies(langCookie)
	if q := c.Query("lang"); q == string(views.LangEN) || q == string(views.LangZH) {
		chosen = q
	}
	return views.Locale{
		Lang:      views.ParseLang(c.Get(fiber.HeaderAcceptLanguage), chosen),
		Zone:      s.zone,
		Now:       s.now(),
		Path:      strings.Clone(c.OriginalURL()),
		Synthetic: s.synthetic(),
		User:      s.viewer(c),
	}
}

func isHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// render writes a component as the HTML answer.
func (s *server) render(c *fiber.Ctx, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.UserContext(), &buf); err != nil {
		return fmt.Errorf("rendering: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// dashboard is GET /: the start form, the running batches and the latest finished.
func (s *server) dashboard(c *fiber.Ctx) error {
	return s.renderDashboard(c, fiber.StatusOK, s.bounded(views.NewStartForm(s.latestDay())))
}

// bounded sets the form's date bounds (the calendar's first day to the latest day ready)
// and the sources it offers.
func (s *server) bounded(f views.StartForm) views.StartForm {
	f.Min, f.Max = s.cal.First().Format(market.DateLayout), s.latestDay()
	f.Sources = s.batches.Sources()
	if f.Source == "" && len(f.Sources) > 0 {
		f.Source = f.Sources[0].Name
	}
	return f
}

func (s *server) renderDashboard(c *fiber.Ctx, status int, form views.StartForm) error {
	ov, err := s.batches.Overview(c.UserContext(), dashboardRows)
	if err != nil {
		return err
	}
	schedules, err := s.nextSchedules(c.UserContext())
	if err != nil {
		return err
	}
	data := views.DashboardData{Form: form, Overview: ov, Schedules: schedules}
	if last := s.cal.Last(); last.Sub(s.today()) < 30*24*time.Hour {
		data.CalendarEnds = last.Format(market.DateLayout)
	}
	return s.render(c, status, views.DashboardPage(s.locale(c), data))
}

// startForm is POST /batches from the dashboard's form. htmx gets the form back (with
// its field errors, or reset and the new batch out of band); a plain POST is redirected
// to the new batch's page.
func (s *server) startForm(c *fiber.Ctx) error {
	form := s.bounded(views.StartForm{
		Source:   strings.TrimSpace(c.FormValue(views.FieldSource)),
		Start:    strings.TrimSpace(c.FormValue(views.FieldStart)),
		End:      strings.TrimSpace(c.FormValue(views.FieldEnd)),
		Datasets: formValues(c, views.FieldDatasets),
		Force:    isTrue(c.FormValue(views.FieldForce)),
		Priority: market.PriorityDefault,
	})
	in := specInput{Start: &form.Start, End: &form.End, Datasets: form.Datasets, RequireDataset: true, Force: form.Force}
	var prioErr *fieldError
	if v := strings.TrimSpace(c.FormValue(views.FieldPriority)); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			prioErr = &fieldError{Field: views.FieldPriority, Key: "err.priority",
				Err: fmt.Errorf("%w: priority must be 1 (urgent) to 4 (low), not %q", market.ErrInvalidInput, v)}
		} else {
			in.Priority, form.Priority = &p, p
		}
	}
	spec, errs := s.parseSpec(in)
	if prioErr != nil {
		errs = append(errs, prioErr)
	}
	if len(errs) > 0 {
		form.Errors = make(map[string]string, len(errs))
		for _, e := range errs {
			if _, seen := form.Errors[e.Field]; !seen {
				form.Errors[e.Field] = e.Key
				if text, ok := detailText(s.locale(c), e.Err); ok {
					form.Errors[e.Field] = text
				}
			}
		}
		return s.formRejected(c, fiber.StatusUnprocessableEntity, form)
	}
	spec.Source = form.Source
	if needsConfirmation(spec) && c.FormValue(views.FieldConfirmed) != form.ConfirmToken() {
		// A batch over a year asks first, with what it would cost.
		est, err := s.batches.Estimate(c.UserContext(), spec)
		if err != nil {
			return s.formFailed(c, form, err)
		}
		form.Confirm = &est
		return s.formRejected(c, fiber.StatusOK, form)
	}
	snap, err := s.start(c, market.OriginWeb, spec)
	if err != nil {
		return s.formFailed(c, form, err)
	}
	if !isHTMX(c) {
		return c.Redirect(views.BatchURL(snap.TaskID), fiber.StatusSeeOther)
	}
	ov, err := s.batches.Overview(c.UserContext(), dashboardRows)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.BatchStarted(s.locale(c), form, snap.TaskID, ov))
}

// needsConfirmation reports whether a batch is big enough (over a year) to ask first.
func needsConfirmation(spec market.Spec) bool {
	return spec.End.Sub(spec.Start) > 366*24*time.Hour
}

// formFailed answers a form whose batch the engine refused, with the reason above the
// button.
func (s *server) formFailed(c *fiber.Ctx, form views.StartForm, err error) error {
	status, _ := s.classify(c.UserContext(), err)
	form.Errors = map[string]string{views.FieldForm: pageMessage(s.locale(c), status, err)}
	return s.formRejected(c, status, form)
}

// formRejected answers a form that did not start a batch: to htmx the form with its
// errors (200, so every htmx swaps it; 5xx stays 5xx), to a plain POST the dashboard.
func (s *server) formRejected(c *fiber.Ctx, status int, form views.StartForm) error {
	if isHTMX(c) {
		if status < 500 {
			status = fiber.StatusOK
		}
		return s.render(c, status, views.BatchForm(s.locale(c), form))
	}
	return s.renderDashboard(c, status, form)
}

// history is GET /batches?status=&dataset=&page=, kept live over /ws/history. Unknown
// filter values are ignored.
func (s *server) history(c *fiber.Ctx) error {
	f, err := s.historyFilter(c)
	if err != nil {
		return err
	}
	items, total, err := s.batches.Batches(c.UserContext(), f)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.HistoryPage(s.locale(c), views.HistoryData{
		Items: items, Total: total, Page: f.Offset/historyPageSize + 1, PageSize: historyPageSize, Filter: f}))
}

// historyFilter reads the history's ?status=&dataset=&page=.
func (s *server) historyFilter(c *fiber.Ctx) (market.BatchFilter, error) {
	var f market.BatchFilter
	f.ParseStatusFilter(c.Query("status")) // an unknown filter is ignored
	if ds := c.Query("dataset"); slices.Contains(market.DatasetNames(), ds) {
		f.Dataset = ds
	}
	p, err := pageNumber(c)
	if err != nil {
		return f, err
	}
	f.Limit, f.Offset = historyPageSize, (p-1)*historyPageSize
	return f, nil
}

// batchPage is GET /batches/:task_id, the live progress page.
func (s *server) batchPage(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	snap, err := s.batches.Snapshot(c.UserContext(), id)
	if err != nil {
		return batchErr(id, err)
	}
	return s.render(c, fiber.StatusOK, views.BatchPage(s.locale(c), snap))
}

// errorsPage is GET /batches/:task_id/errors?page=.
func (s *server) errorsPage(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	p, err := pageNumber(c)
	if err != nil {
		return err
	}
	items, total, err := s.batches.Errors(c.UserContext(), id, errorsPageSize, (p-1)*errorsPageSize)
	if err != nil {
		return batchErr(id, err)
	}
	return s.render(c, fiber.StatusOK, views.ErrorsPage(s.locale(c), views.ErrorsData{
		TaskID: id, Items: items, Total: total, Page: p, PageSize: errorsPageSize}))
}

// actionDone is the catalog key of each action's confirmation.
var actionDone = map[string]string{
	"cancel": "action.cancelled",
	"pause":  "action.paused",
	"resume": "action.resumed",
	"retry":  "action.retried",
}

// pageAction is POST /batches/:task_id/{cancel,pause,resume,retry} from the batch page's
// buttons: htmx gets a flash and, out of band, the refreshed status and controls; errors
// answer their status (409 for a state that does not allow it) with a flash.
func (s *server) pageAction(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := taskID(c)
		if err != nil {
			return err
		}
		if _, _, err := s.act(c, market.OriginWeb, action, id); err != nil {
			return err
		}
		if !isHTMX(c) {
			return c.Redirect(views.BatchURL(id), fiber.StatusSeeOther)
		}
		loc := s.locale(c)
		loc.Path = ""
		comps := []templ.Component{views.Flash(loc, views.FlashSuccess, actionDone[action])}
		if snap, err := s.batches.Snapshot(c.UserContext(), id); err == nil {
			comps = append(comps, views.BatchUpdate(loc, snap, nil, false))
		}
		return s.render(c, fiber.StatusOK, templ.Join(comps...))
	}
}

// coveragePage is GET /coverage?dataset=&year=: a year's heatmap of one dataset, kept
// live over /ws/coverage.
func (s *server) coveragePage(c *fiber.Ctx) error {
	dataset := c.Query("dataset")
	if !slices.Contains(market.DatasetNames(), dataset) {
		dataset = market.DatasetNames()[0]
	}
	first, last := s.batches.CoverageYears()
	cov, err := s.batches.CoverageYear(c.UserContext(), dataset, c.QueryInt("year", last))
	if err != nil {
		return err
	}
	var years []int
	for y := first; y <= last; y++ {
		years = append(years, y)
	}
	return s.render(c, fiber.StatusOK, views.CoveragePage(s.locale(c), views.CoverageData{
		Dataset: dataset, Year: cov.Year, Years: years, Coverage: []market.Coverage{*cov}}))
}

// coverageSync is POST /coverage/sync with days=YYYY-MM-DD… and dataset=: exactly one
// batch of the selected days.
func (s *server) coverageSync(c *fiber.Ctx) error {
	loc := s.locale(c)
	fail := func(status int, err error) error {
		return s.render(c, status, views.CoverageSyncResult(loc, views.SyncResult{Error: pageMessage(loc, status, err)}))
	}
	days := formValues(c, "days")
	if len(days) == 0 {
		return s.render(c, fiber.StatusUnprocessableEntity, views.CoverageSyncResult(loc, views.SyncResult{Error: "err.no_days"}))
	}
	if len(days) > maxChosenDays {
		return fail(fiber.StatusUnprocessableEntity, &market.SizeError{Days: len(days), Max: maxChosenDays})
	}
	var spec market.Spec
	if ds := c.FormValue("dataset"); ds != "" {
		spec.Datasets = []string{ds}
	}
	for _, v := range days {
		d, err := market.ParseDate(strings.TrimSpace(v))
		if err != nil {
			return fail(fiber.StatusUnprocessableEntity, err)
		}
		spec.Days = append(spec.Days, d)
	}
	snap, err := s.start(c, market.OriginWeb, spec)
	if err != nil {
		status, _ := s.classify(c.UserContext(), err)
		return fail(status, err)
	}
	return s.render(c, fiber.StatusOK, views.CoverageSyncResult(loc, views.SyncResult{
		TaskIDs: []string{snap.TaskID}, Days: snap.TradingDays / max(len(snap.Datasets), 1)}))
}

// maxChosenDays bounds a selection of days: a year's grid holds at most 366.
const maxChosenDays = 400

// setLang is GET /lang/:lang?next=: remembers the language for a year and goes back.
func (s *server) setLang(c *fiber.Ctx) error {
	lang := views.ParseLang("", c.Params("lang"))
	c.Cookie(&fiber.Cookie{
		Name:     langCookie,
		Value:    string(lang),
		Path:     "/",
		MaxAge:   365 * 24 * 60 * 60,
		Expires:  s.now().AddDate(1, 0, 0),
		SameSite: fiber.CookieSameSiteLaxMode,
	})
	return c.Redirect(safeNext(c.Query("next")), fiber.StatusSeeOther)
}

// safeNext keeps a redirect on this site: a local absolute path, else "/".
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// maxPage bounds ?page=: a million pages of any list is past its end anyway.
const maxPage = 1_000_000

// pageNumber reads ?page=, 1 when absent; anything but a number from 1 to maxPage is
// a 400.
func pageNumber(c *fiber.Ctx) (int, error) {
	v := c.Query("page")
	if v == "" {
		return 1, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > maxPage {
		return 0, badRequest(fmt.Sprintf("page must be a number from 1 to %d, not %q", maxPage, clip(v)))
	}
	return p, nil
}

// formValues returns every value of a form field (checkboxes send one per tick).
func formValues(c *fiber.Ctx, key string) []string {
	var out []string
	if mf, err := c.MultipartForm(); err == nil {
		for _, v := range mf.Value[key] {
			out = append(out, strings.TrimSpace(v))
		}
		return out
	}
	for _, v := range c.Request().PostArgs().PeekMulti(key) {
		out = append(out, strings.TrimSpace(string(v)))
	}
	return out
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "on", "1", "yes":
		return true
	}
	return false
}

// synthetic names the configured source whose data is made up, if any: pages say so in
// their header.
func (s *server) synthetic() string {
	for _, src := range s.batches.Sources() {
		if src.Synthetic {
			return src.Name
		}
	}
	return ""
}
