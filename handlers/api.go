package handlers

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/marketsync/marketsync/internal/catalog"
	"github.com/marketsync/marketsync/internal/market"
)

// success is the JSON envelope of every API answer, as the old system wrapped them.
type success struct {
	Status string `json:"status"`
	Data   any    `json:"data"`
}

func ok(c *fiber.Ctx, status int, data any) error {
	return c.Status(status).JSON(success{Status: "success", Data: data})
}

// startRequest is the body of POST /api/v1/sync-status/sync/batch. Unknown fields are
// ignored (old clients send extras); fields of the wrong type are rejected.
type startRequest struct {
	// Source names the source to load from (default: the server's default source).
	Source    string  `json:"source"`
	StartDate *string `json:"start_date"`
	EndDate   *string `json:"end_date"`
	// Days, instead of the dates, names the trading days to load.
	Days     []string `json:"days"`
	Datasets []string `json:"datasets"`
	Force    *bool    `json:"force"`
	Priority *int     `json:"priority"`
}

// startAnswer is the old API's answer to a start.
type startAnswer struct {
	TaskID    string `json:"task_id"`
	TotalDays int    `json:"total_days"`
	Message   string `json:"message"`
}

// apiStart starts a batch.
func (s *server) apiStart(c *fiber.Ctx) error {
	var req startRequest
	if err := decodeJSON(c.Body(), &req); err != nil {
		return err
	}
	spec, err := s.startSpec(req)
	if err != nil {
		return err
	}
	spec.Source = req.Source
	snap, err := s.start(c, market.OriginAPI, spec)
	if err != nil {
		return err
	}
	days := snap.Total / max(len(snap.Datasets), 1)
	return ok(c, fiber.StatusOK, startAnswer{
		TaskID:    snap.TaskID,
		TotalDays: days,
		Message:   catalog.T(catalog.ZH, "legacy.started", days),
	})
}

// startSpec reads a start request: a range (start_date, end_date) or a list of days.
func (s *server) startSpec(req startRequest) (market.Spec, error) {
	if len(req.Days) == 0 {
		spec, errs := s.parseSpec(specInput{
			Start: req.StartDate, End: req.EndDate, Datasets: req.Datasets,
			Force: req.Force != nil && *req.Force, Priority: req.Priority,
		})
		if len(errs) > 0 {
			return spec, errs[0]
		}
		return spec, nil
	}
	if req.StartDate != nil || req.EndDate != nil {
		return market.Spec{}, &fieldError{Field: "days", Err: fmt.Errorf("%w: give either days or start_date and end_date, not both", market.ErrInvalidInput)}
	}
	spec := market.Spec{Datasets: req.Datasets, Force: req.Force != nil && *req.Force}
	if req.Priority != nil {
		spec.Priority = *req.Priority
		if err := market.CheckPriority(spec.Priority); err != nil {
			return spec, &fieldError{Field: "priority", Err: err}
		}
	}
	for _, v := range req.Days {
		d, err := market.ParseDate(v)
		if err != nil {
			return spec, &fieldError{Field: "days", Err: err}
		}
		spec.Days = append(spec.Days, d)
	}
	return spec, nil
}

// actionAnswer is the answer to cancel, pause, resume and retry.
type actionAnswer struct {
	TaskID  string `json:"task_id"`
	Action  string `json:"action"`
	Message string `json:"message"`
	Retried *int   `json:"retried,omitempty"`
	Batch   string `json:"batch_status"`
}

// start starts a batch for the request's principal and audits it.
func (s *server) start(c *fiber.Ctx, via market.Origin, spec market.Spec) (*market.Snapshot, error) {
	who := s.actor(c, via)
	spec.CreatedBy, spec.CreatedFrom, spec.CreatedUser = via, who.From, who.User
	if who.User == "anonymous" {
		spec.CreatedUser = ""
	}
	snap, err := s.batches.Start(c.UserContext(), spec)
	if err != nil {
		return nil, err
	}
	s.audit(c, via, market.AuditStart, snap.TaskID, fmt.Sprintf("%s %s to %s %v", snap.Source, snap.StartDate, snap.EndDate, snap.Datasets))
	return snap, nil
}

// act runs one of the batch actions for the request's principal, audits it, and returns
// a message for it.
func (s *server) act(c *fiber.Ctx, via market.Origin, action, id string) (string, *int, error) {
	msg, retried, err := s.do(c.UserContext(), action, id, s.actor(c, via))
	if err != nil {
		return "", nil, err
	}
	s.audit(c, via, action, id, msg)
	return msg, retried, nil
}

// do runs one of the batch actions and returns a message for it.
func (s *server) do(ctx context.Context, action, id string, who market.Actor) (string, *int, error) {
	var err error
	var msg string
	var retried *int
	switch action {
	case "cancel":
		err, msg = s.batches.Cancel(ctx, id, who), "cancellation requested"
	case "pause":
		err, msg = s.batches.Pause(ctx, id, who), "batch paused"
	case "resume":
		err, msg = s.batches.Resume(ctx, id, who), "batch resumed"
	case "retry":
		var n int
		n, err = s.batches.Retry(ctx, id, who)
		retried, msg = &n, fmt.Sprintf("%d failed days queued again", n)
	default:
		return "", nil, fiber.ErrNotFound
	}
	if err != nil {
		return "", nil, batchErr(id, err)
	}
	return msg, retried, nil
}

// apiAction cancels, pauses, resumes or retries a batch.
func (s *server) apiAction(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := taskID(c)
		if err != nil {
			return err
		}
		msg, retried, err := s.act(c, market.OriginAPI, action, id)
		if err != nil {
			return err
		}
		ans := actionAnswer{TaskID: id, Action: action, Message: msg, Retried: retried}
		if snap, err := s.batches.Snapshot(c.UserContext(), id); err == nil {
			ans.Batch = string(snap.Status)
		}
		return ok(c, fiber.StatusOK, ans)
	}
}

// page is one page of a list.
type page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// apiBatches lists batches, newest first.
func (s *server) apiBatches(c *fiber.Ctx) error {
	f, err := batchFilter(c)
	if err != nil {
		return err
	}
	if f.Limit, f.Offset, err = paging(c, 50); err != nil {
		return err
	}
	items, total, err := s.batches.Batches(c.UserContext(), f)
	if err != nil {
		return err
	}
	return ok(c, fiber.StatusOK, page[market.BatchSummary]{
		Items: market.SummariesIn(items, s.zone), Total: total, Limit: f.Limit, Offset: f.Offset})
}

// apiActive lists the batches not finished yet (GET /api/v1/batches/active; the old
// path answers the old shape, see legacyActive).
func (s *server) apiActive(c *fiber.Ctx) error {
	items, err := s.batches.Active(c.UserContext())
	if err != nil {
		return err
	}
	return ok(c, fiber.StatusOK, market.SummariesIn(items, s.zone))
}

// apiErrors pages through a batch's failed attempts.
func (s *server) apiErrors(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	limit, offset, err := paging(c, 100)
	if err != nil {
		return err
	}
	items, total, err := s.batches.Errors(c.UserContext(), id, limit, offset)
	if err != nil {
		return batchErr(id, err)
	}
	return ok(c, fiber.StatusOK, page[market.ErrorRecord]{
		Items: market.ErrorsIn(items, s.zone), Total: total, Limit: limit, Offset: offset})
}

// apiCoverage tells which trading days of a dataset are loaded. Without dates it covers
// the current year up to today.
func (s *server) apiCoverage(c *fiber.Ctx) error {
	dataset := c.Query("dataset", market.DatasetNames()[0])
	if _, err := market.LookupDataset(dataset); err != nil {
		return &fieldError{Field: "dataset", Err: err}
	}
	end := earlier(s.today(), s.cal.Last())
	start := time.Date(end.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	var err error
	if v := c.Query("start"); v != "" {
		if start, err = market.ParseDate(v); err != nil {
			return &fieldError{Field: "start", Err: err}
		}
	}
	if v := c.Query("end"); v != "" {
		if end, err = market.ParseDate(v); err != nil {
			return &fieldError{Field: "end", Err: err}
		}
	}
	if err := s.cal.CheckRange(start, end); err != nil {
		return err
	}
	cov, err := s.batches.Coverage(c.UserContext(), dataset, start, end)
	if err != nil {
		return err
	}
	return ok(c, fiber.StatusOK, cov.In(s.zone))
}

//go:embed openapi.json
var openAPI []byte

// apiDoc serves the OpenAPI document.
func (s *server) apiDoc(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(openAPI)
}

// health answers 200 when PostgreSQL answers, 503 when it does not.
func (s *server) health(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.Warn("health check: database unreachable", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).JSON(apiError{Status: "error", Message: "database unreachable"})
	}
	answer := fiber.Map{"status": "ok", "sources": s.batches.Sources()}
	for _, src := range s.batches.Sources() {
		if src.Synthetic {
			answer["synthetic"] = "the " + src.Name + " source's data is synthetic: a made-up market, not real prices"
		}
	}
	return c.JSON(answer)
}

// decodeJSON reads one JSON object into v, ignoring unknown fields and naming the field
// whose value has the wrong type.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(v)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return badRequest("malformed JSON: unexpected data after the object")
		}
		return nil
	case errors.As(err, &syn):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of input")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("request body must be a JSON object")
		}
		return badRequest(fmt.Sprintf("field %q must be %s, not %s", typ.Field, describe(typ.Type), typ.Value))
	default:
		return badRequest("malformed JSON: " + err.Error())
	}
}

// describe names a Go type the way a JSON client thinks of it.
func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array of " + plural(t.Elem())
	default:
		return "an object"
	}
}

func plural(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "strings"
	default:
		return "values"
	}
}

// batchFilter reads ?status=&dataset=.
func batchFilter(c *fiber.Ctx) (market.BatchFilter, error) {
	var f market.BatchFilter
	if v := c.Query("status"); v != "" && !f.ParseStatusFilter(v) {
		return f, &fieldError{Field: "status", Err: fmt.Errorf("%w: unknown status %q (known: %v, %s, %s)",
			market.ErrInvalidInput, v, market.BatchStatuses(), market.FilterUnfinished, market.FilterWithFailures)}
	}
	if v := c.Query("dataset"); v != "" {
		if _, err := market.LookupDataset(v); err != nil {
			return f, &fieldError{Field: "dataset", Err: err}
		}
		f.Dataset = v
	}
	return f, nil
}

// paging reads ?limit=&offset=: integers, limit 1 to 1000.
func paging(c *fiber.Ctx, defaultLimit int) (limit, offset int, err error) {
	limit, offset = defaultLimit, 0
	if v := c.Query("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil {
			return 0, 0, badRequest(fmt.Sprintf("limit must be an integer, not %q", v))
		}
		if limit < 1 || limit > 1000 {
			return 0, 0, &fieldError{Field: "limit", Err: fmt.Errorf("%w: limit must be 1 to 1000, not %d", market.ErrInvalidInput, limit)}
		}
	}
	if v := c.Query("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil {
			return 0, 0, badRequest(fmt.Sprintf("offset must be an integer, not %q", v))
		}
		if offset < 0 {
			return 0, 0, &fieldError{Field: "offset", Err: fmt.Errorf("%w: offset must not be negative", market.ErrInvalidInput)}
		}
	}
	return limit, offset, nil
}

// maxTaskID bounds a task id's length: ours are "{start}_{end}_{unix}-n", some 40 bytes.
const maxTaskID = 200

// taskID is the route's :task_id, unescaped; one that cannot be a task id (invalid
// UTF-8, control characters such as NUL, too long) is a 400.
func taskID(c *fiber.Ctx) (string, error) {
	id := c.Params("task_id")
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	if len(id) > maxTaskID || !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return "", badRequest(fmt.Sprintf("%q is not a task id", clip(id)))
	}
	return id, nil
}

// batchErr names the batch in a not-found error.
func batchErr(id string, err error) error {
	if errors.Is(err, market.ErrNotFound) {
		return &noBatchError{fmt.Errorf("batch %s: %w", id, err)}
	}
	return err
}

// noBatchError is a task id that names no batch: pages say "no such batch" (other
// things not found, a user or a webhook, say what they are themselves).
type noBatchError struct{ err error }

func (e *noBatchError) Error() string { return e.err.Error() }
func (e *noBatchError) Unwrap() error { return e.err }
