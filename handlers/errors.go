package handlers

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
	"github.com/marketsync/marketsync/views"
)

// requestError is a request that cannot even be read: malformed JSON, a field or query
// parameter of the wrong type. It answers 400 with its message.
type requestError struct{ msg string }

func (e *requestError) Error() string { return e.msg }

func badRequest(msg string) error { return &requestError{msg: msg} }

// fieldError is an invalid value of one named field. Its text (what the API answers)
// names the field; Key is the catalog key the form shows next to the field.
type fieldError struct {
	Field string
	Key   string
	Err   error
}

func (e *fieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *fieldError) Unwrap() error { return e.Err }

// classify is the one place that maps an error to the HTTP status and the message a
// client sees. Only faults of our own answer 5xx; those are logged here.
func (s *server) classify(ctx context.Context, err error) (int, string) {
	var re *requestError
	var fe *fiber.Error
	var cs *crossSiteError
	var ae *authError
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.msg
	case errors.As(err, &re):
		return fiber.StatusBadRequest, re.msg
	case errors.As(err, &cs):
		return fiber.StatusForbidden, cs.Error()
	case market.IsInputError(err):
		return fiber.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, market.ErrNotFound):
		return fiber.StatusNotFound, err.Error()
	case errors.Is(err, market.ErrConflict):
		return fiber.StatusConflict, err.Error()
	case errors.As(err, &fe):
		return fe.Code, fe.Message
	case store.IsUnavailable(err):
		s.log.WarnContext(ctx, "database unavailable", "err", err)
		return fiber.StatusServiceUnavailable, "the database is unavailable; try again shortly"
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// The client left or the server is stopping: not a fault worth an alert.
		s.log.DebugContext(ctx, "request cancelled", "err", err)
		return fiber.StatusServiceUnavailable, "request cancelled"
	default:
		s.log.ErrorContext(ctx, "request failed", "err", err)
		return fiber.StatusInternalServerError, "internal server error"
	}
}

// catalogKey is the catalog key pages show for err, so they speak the viewer's language.
func catalogKey(err error) string {
	var fe *fieldError
	if errors.As(err, &fe) && fe.Key != "" {
		return fe.Key
	}
	switch {
	case errors.Is(err, market.ErrInvalidDate):
		return "err.date_invalid"
	case errors.Is(err, market.ErrInvalidRange):
		return "err.range"
	case errors.Is(err, market.ErrOutsideCalendar):
		return "err.outside_calendar"
	case errors.Is(err, market.ErrUnknownDataset):
		return "err.dataset_unknown"
	case errors.Is(err, market.ErrNotFound):
		var nb *noBatchError
		if errors.As(err, &nb) {
			return "err.not_found"
		}
		return market.Reason(err)
	case errors.Is(err, market.ErrConflict):
		return "err.conflict"
	case market.IsInputError(err):
		return err.Error()
	}
	return "err.internal"
}

// apiError is the JSON body of every API error, as the old system answered them.
type apiError struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// handleError is Fiber's error handler: JSON for the API, a flash for htmx requests,
// an error page otherwise.
func (s *server) handleError(c *fiber.Ctx, err error) error {
	status, msg := s.classify(c.UserContext(), err)
	if status == fiber.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="marketsync"`)
	}
	path := c.Path()
	if strings.HasPrefix(path, "/api/") || path == "/healthz" {
		if legacyPath(path) {
			msg = legacyErrorMessage(status, err, msg)
		}
		s.corsOnError(c)
		return c.Status(status).JSON(apiError{Status: "error", Message: msg})
	}
	loc := s.locale(c)
	if isHTMX(c) {
		return s.render(c, status, views.Flash(loc, views.FlashError, pageMessage(loc, status, err)))
	}
	if status == fiber.StatusNotFound {
		what := ""
		if errors.Is(err, market.ErrNotFound) {
			what = catalogKey(err)
		}
		return s.render(c, status, views.NotFoundPage(loc, what))
	}
	return s.render(c, status, views.ErrorPage(loc, status, pageMessage(loc, status, err)))
}

// pageMessage is what a page says about err, in loc's language: a catalog key where one
// fits, or the text of an error that carries details (the days at fault).
func pageMessage(loc views.Locale, status int, err error) string {
	if text, ok := detailText(loc, err); ok {
		return text
	}
	return pageKey(status, err)
}

// detailText words the errors that name days or sizes in loc's language.
func detailText(loc views.Locale, err error) (string, bool) {
	var de *market.DaysError
	var se *market.SizeError
	var ce *market.CalendarError
	switch {
	case errors.As(err, &ce):
		return loc.T("err.outside_range", ce.Date.Format(market.DateLayout),
			ce.First.Format(market.DateLayout), ce.Last.Format(market.DateLayout)), true
	case errors.As(err, &de) && errors.Is(de.Err, market.ErrNotTradingDay):
		return loc.T("err.not_trading", de.DayList()), true
	case errors.As(err, &de) && errors.Is(de.Err, market.ErrNotPublished):
		latest := "—"
		if !de.Latest.IsZero() {
			latest = de.Latest.Format(market.DateLayout)
		}
		return loc.T("err.not_published", de.DayList(), de.PublishedAt, latest), true
	case errors.As(err, &se):
		return loc.T("err.batch_too_large", loc.Int(se.Days), loc.Int(se.Max), (se.Max+182)/365), true
	}
	return "", false
}

// pageKey is the catalog key of what a page says about err.
func pageKey(status int, err error) string {
	if status == fiber.StatusServiceUnavailable {
		return "err.unavailable"
	}
	if status >= 500 {
		return "err.internal"
	}
	var cs *crossSiteError
	if errors.As(err, &cs) {
		return "err.cross_site"
	}
	var ae *authError
	if errors.As(err, &ae) && ae.key != "" {
		return ae.key
	}
	var re *requestError
	if errors.As(err, &re) {
		return re.msg
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusMethodNotAllowed:
			return "err.method"
		case fiber.StatusRequestEntityTooLarge:
			return "err.too_large"
		case fiber.StatusUpgradeRequired:
			return "err.websocket"
		case fiber.StatusNotFound:
			return "err.not_found"
		}
		return "err.request"
	}
	return catalogKey(err)
}
