package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/handlers"
	"github.com/marketsync/marketsync/internal/app"
	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/live"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/source/demo"
	"github.com/marketsync/marketsync/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m, "handlers", store.Migrate) }

var _ handlers.Batches = (*engine.Engine)(nil)

type env struct {
	app    *fiber.App
	engine *engine.Engine
	hub    *live.Hub
	cal    *calendar.Calendar
	pool   *pgxpool.Pool
	auth   *auth.Service
	// sides numbers the queues of the test's side engines (see sideEngine).
	sides atomic.Int64
}

type options struct {
	latency time.Duration
	cors    []string
	// auth configures accounts; nil lets anonymous visitors operate, as the tests of
	// everything but accounts assume.
	auth         *auth.Config
	metricsToken string
}

// setup builds the app as serve does (app.New), on a database of the test's own: the
// engine with two workers on the demo source, the hub listening, and the Fiber app,
// which the tests call through app.Test. It all stops when the test ends.
func setup(t *testing.T, opt options) *env {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	authCfg := auth.Config{Anonymous: market.RoleOperator}
	if opt.auth != nil {
		authCfg = *opt.auth
	}
	a, err := app.New(context.Background(), &app.Config{
		Auth:         authCfg,
		DatabaseURL:  pgtest.NewDB(t),
		Demo:         demo.Config{Latency: opt.latency},
		Engine:       engine.Config{Parallelism: 2, RetryBackoff: 10 * time.Millisecond},
		CORSOrigins:  opt.cors,
		Logger:       logger,
		MetricsToken: opt.metricsToken,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		a.Close()
	})
	return &env{app: a.HTTP, engine: a.Engine, hub: a.Hub, cal: a.Calendar, pool: a.Pool, auth: a.Auth}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends one request through app.Test. A body that starts with '{', '[' or is empty
// with method POST to /api is sent as JSON; url.Values as a form.
func (e *env) do(t *testing.T, method, path string, body any, header ...string) response {
	t.Helper()
	var r io.Reader
	var ctype string
	switch b := body.(type) {
	case nil:
	case string:
		r, ctype = strings.NewReader(b), "application/json"
	case url.Values:
		r, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		t.Fatalf("unsupported body %T", body)
	}
	req := httptest.NewRequest(method, path, r)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.app.Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// doRaw sends body with exactly the content type ctype ("" sends none).
func (e *env) doRaw(t *testing.T, method, path, body, ctype string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := e.app.Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// envelope is the API's answer.
type envelope struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

func (r response) json(t *testing.T) envelope {
	t.Helper()
	var e envelope
	require.NoError(t, json.Unmarshal([]byte(r.body), &e), r.body)
	return e
}

// start starts a batch through the API and returns its task id.
func (e *env) start(t *testing.T, body string, header ...string) string {
	t.Helper()
	r := e.do(t, "POST", "/api/v1/sync-status/sync/batch", body, header...)
	require.Equal(t, 200, r.status, r.body)
	var a struct {
		TaskID string `json:"task_id"`
	}
	require.NoError(t, json.Unmarshal(r.json(t).Data, &a))
	return a.TaskID
}

// wait polls the progress API until the batch finishes.
func (e *env) wait(t *testing.T, id string, header ...string) *market.Snapshot {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := e.do(t, "GET", "/api/v1/sync-status/sync/batch/progress/"+id, nil, header...)
		require.Equal(t, 200, r.status, r.body)
		var s market.Snapshot
		require.NoError(t, json.Unmarshal(r.json(t).Data, &s))
		if s.Status.Finished() {
			return &s
		}
		require.True(t, time.Now().Before(deadline), "batch %s still %s", id, s.Status)
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAPIStartAndProgress(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	// Old clients' shape, with a field we do not know.
	r := e.do(t, "POST", "/api/v1/sync-status/sync/batch",
		`{"start_date":"2025-10-01","end_date":"2025-10-09","client":"legacy","retries":3}`)
	require.Equal(t, 200, r.status, r.body)
	env := r.json(t)
	require.Equal(t, "success", env.Status)
	var a struct {
		TaskID    string `json:"task_id"`
		TotalDays int    `json:"total_days"`
		Message   string `json:"message"`
	}
	require.NoError(t, json.Unmarshal(env.Data, &a))
	require.Regexp(t, `^2025-10-01_2025-10-09_\d+(-\d+)?$`, a.TaskID)
	require.Equal(t, 9, a.TotalDays)
	require.Equal(t, "批量同步任务已启动，将同步 9 天的数据", a.Message)

	snap := e.wait(t, a.TaskID)
	require.Equal(t, market.BatchCompleted, snap.Status)
	require.Equal(t, 9, snap.Total)
	require.Equal(t, 9, snap.Current)
	// 2025-10-01..08 is the National Day holiday; only the 9th trades.
	require.Equal(t, 0, snap.Failed)
	require.Equal(t, 1, snap.Success)
	require.Equal(t, 8, snap.Skipped)
	require.Equal(t, 1, snap.TradingDays)

	// Every field of the old API is there, times carry the display zone's offset.
	r = e.do(t, "GET", "/api/v1/sync-status/sync/batch/progress/"+a.TaskID, nil)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(r.json(t).Data, &raw))
	for _, f := range []string{"status", "total", "current", "success", "failed", "skipped", "current_date",
		"message", "progress_percent", "start_time", "end_time", "duration_seconds", "estimated_completion", "errors"} {
		require.Contains(t, raw, f)
	}
	require.True(t, strings.HasSuffix(raw["start_time"].(string), "+08:00"), raw["start_time"])
	require.Equal(t, []any{}, raw["errors"])
	require.EqualValues(t, 100, raw["progress_percent"])
}

func TestAPIStartOptions(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	id := e.start(t, `{"start_date":"2025-09-01","end_date":"2025-09-02","datasets":["daily"],"force":true,"priority":1}`)
	snap := e.wait(t, id)
	require.True(t, snap.Force)
	require.Equal(t, 1, snap.Priority)
	require.Equal(t, []string{"daily"}, snap.Datasets)
	require.Equal(t, "api", snap.CreatedBy)
	require.NotEmpty(t, snap.CreatedFrom)
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	done := e.start(t, `{"start_date":"2025-10-08","end_date":"2025-10-09"}`)
	e.wait(t, done)

	const start = "/api/v1/sync-status/sync/batch"
	cases := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		msg    string
	}{
		{"malformed JSON", "POST", start, `{"start_date":`, 400, "malformed JSON"},
		{"syntax error", "POST", start, `{"start_date" "x"}`, 400, "malformed JSON"},
		{"empty body", "POST", start, ``, 400, "JSON object"},
		{"not an object", "POST", start, `["2025-10-01"]`, 400, "JSON object"},
		{"trailing data", "POST", start, `{"start_date":"2025-10-01","end_date":"2025-10-02"} {}`, 400, "malformed JSON"},
		{"date as number", "POST", start, `{"start_date":20251001,"end_date":"2025-10-02"}`, 400, `field "start_date" must be a string, not number`},
		{"force as string", "POST", start, `{"start_date":"2025-10-01","end_date":"2025-10-02","force":"yes"}`, 400, `field "force" must be true or false`},
		{"priority as string", "POST", start, `{"start_date":"2025-10-01","end_date":"2025-10-02","priority":"high"}`, 400, `field "priority" must be an integer`},
		{"priority fraction", "POST", start, `{"start_date":"2025-10-01","end_date":"2025-10-02","priority":2.5}`, 400, `field "priority" must be an integer`},
		{"datasets as string", "POST", start, `{"start_date":"2025-10-01","end_date":"2025-10-02","datasets":"daily"}`, 400, `field "datasets" must be an array of strings`},
		{"missing start", "POST", start, `{"end_date":"2025-10-02"}`, 422, "start_date: invalid date"},
		{"null end", "POST", start, `{"start_date":"2025-10-01","end_date":null}`, 422, "end_date: invalid date"},
		{"bad date", "POST", start, `{"start_date":"2025-13-01","end_date":"2025-10-02"}`, 422, `start_date: invalid date: "2025-13-01" is not a date in the form YYYY-MM-DD`},
		{"slashes", "POST", start, `{"start_date":"2025/10/01","end_date":"2025-10-02"}`, 422, "start_date: invalid date"},
		{"end before start", "POST", start, `{"start_date":"2025-10-09","end_date":"2025-10-01"}`, 422, "end_date: invalid range: end date 2025-10-01 is before start date 2025-10-09"},
		{"outside calendar", "POST", start, `{"start_date":"1980-01-01","end_date":"1980-01-02"}`, 422, "start_date: outside the trading calendar"},
		{"unknown dataset", "POST", start, `{"start_date":"2025-10-01","end_date":"2025-10-02","datasets":["daily","minute"]}`, 422, `datasets: unknown dataset "minute"`},
		{"priority zero", "POST", start, `{"start_date":"2025-10-01","end_date":"2025-10-02","priority":0}`, 422, "priority: invalid input: priority must be 1 (urgent) to 4 (low), not 0"},
		{"priority five", "POST", start, `{"start_date":"2025-10-01","end_date":"2025-10-02","priority":5}`, 422, "priority must be 1 (urgent) to 4 (low), not 5"},
		{"unknown task", "GET", "/api/v1/sync-status/sync/batch/progress/2025-01-01_2025-01-02_1", "", 404, "batch 2025-01-01_2025-01-02_1: not found"},
		{"cancel unknown", "POST", start + "/nope/cancel", "", 404, "batch nope: not found"},
		{"pause unknown", "POST", start + "/nope/pause", "", 404, "not found"},
		{"errors of unknown", "GET", start + "/nope/errors", "", 404, "not found"},
		{"cancel finished", "POST", start + "/" + done + "/cancel", "", 409, "is completed, which does not allow cancel"},
		{"pause finished", "POST", start + "/" + done + "/pause", "", 409, "does not allow pause"},
		{"resume not paused", "POST", start + "/" + done + "/resume", "", 409, "does not allow resume"},
		{"retry nothing failed", "POST", start + "/" + done + "/retry", "", 409, "no failed or unfinished days to retry"},
		{"limit not a number", "GET", "/api/v1/sync-status/sync/batches?limit=ten", "", 400, `limit must be an integer, not "ten"`},
		{"limit too big", "GET", "/api/v1/sync-status/sync/batches?limit=5000", "", 422, "limit must be 1 to 1000"},
		{"negative offset", "GET", start + "/" + done + "/errors?offset=-1", "", 422, "offset must not be negative"},
		{"unknown status", "GET", "/api/v1/sync-status/sync/batches?status=done", "", 422, `unknown status "done"`},
		{"unknown dataset filter", "GET", "/api/v1/sync-status/sync/batches?dataset=minute", "", 422, "unknown dataset"},
		{"coverage bad date", "GET", "/api/v1/coverage?start=2025-02-30", "", 422, "start: invalid date"},
		{"coverage range", "GET", "/api/v1/coverage?start=2025-03-01&end=2025-02-01", "", 422, "invalid range"},
		{"coverage dataset", "GET", "/api/v1/coverage?dataset=minute", "", 422, "unknown dataset"},
		{"no such endpoint", "GET", "/api/v1/nope", "", 404, "no such endpoint"},
		{"wrong method", "GET", start, "", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var body any
			if tc.method == "POST" {
				body = tc.body
			}
			r := e.do(t, tc.method, tc.path, body)
			require.Equal(t, tc.status, r.status, r.body)
			env := r.json(t)
			require.Equal(t, "error", env.Status)
			require.Contains(t, env.Message, tc.msg)
		})
	}
}

func TestAPILists(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	id := e.start(t, `{"start_date":"2024-12-30","end_date":"2025-01-03"}`)
	e.wait(t, id)

	r := e.do(t, "GET", "/api/v1/sync-status/sync/batches?status=completed&dataset=daily&limit=500", nil)
	require.Equal(t, 200, r.status, r.body)
	var hist struct {
		Items  []market.BatchSummary `json:"items"`
		Total  int                   `json:"total"`
		Limit  int                   `json:"limit"`
		Offset int                   `json:"offset"`
	}
	require.NoError(t, json.Unmarshal(r.json(t).Data, &hist))
	require.Equal(t, 500, hist.Limit)
	found := false
	for _, b := range hist.Items {
		require.Equal(t, market.BatchCompleted, b.Status)
		if b.TaskID == id {
			found = true
			require.Equal(t, 5, b.Total)
			require.Equal(t, "+08:00", b.CreatedAt.Format("-07:00"))
		}
	}
	require.True(t, found, "%s not in history", id)

	r = e.do(t, "GET", "/api/v1/batches/active", nil)
	require.Equal(t, 200, r.status, r.body)
	require.True(t, strings.HasPrefix(string(r.json(t).Data), "["), r.body)

	r = e.do(t, "GET", "/api/v1/sync-status/sync/batch/"+id+"/errors?limit=5", nil)
	require.Equal(t, 200, r.status, r.body)
	require.JSONEq(t, `{"items":[],"total":0,"limit":5,"offset":0}`, string(r.json(t).Data))

	r = e.do(t, "GET", "/api/v1/coverage?dataset=daily&start=2024-12-30&end=2025-01-03", nil)
	require.Equal(t, 200, r.status, r.body)
	var cov market.Coverage
	require.NoError(t, json.Unmarshal(r.json(t).Data, &cov))
	require.Equal(t, "daily", cov.Dataset)
	require.Equal(t, 4, cov.Loaded) // 2025-01-01 is a holiday
	require.Len(t, cov.Days, 4)
}

func TestAPIRetryAndPause(t *testing.T) {
	t.Parallel()
	e := setup(t, options{latency: 300 * time.Millisecond})
	id := e.start(t, `{"start_date":"2025-03-03","end_date":"2025-03-28","priority":3}`)
	const base = "/api/v1/sync-status/sync/batch/"

	r := e.do(t, "POST", base+id+"/pause", nil)
	require.Equal(t, 200, r.status, r.body)
	var a struct {
		TaskID string `json:"task_id"`
		Action string `json:"action"`
		Batch  string `json:"batch_status"`
	}
	require.NoError(t, json.Unmarshal(r.json(t).Data, &a))
	require.Equal(t, "pause", a.Action)
	require.Equal(t, "paused", a.Batch)

	r = e.do(t, "POST", base+id+"/pause", nil)
	require.Equal(t, 409, r.status, r.body)

	r = e.do(t, "POST", base+id+"/resume", nil)
	require.Equal(t, 200, r.status, r.body)

	r = e.do(t, "POST", base+id+"/cancel", nil)
	require.Equal(t, 200, r.status, r.body)
	snap := e.wait(t, id)
	require.Equal(t, market.BatchCancelled, snap.Status)
	require.NotNil(t, snap.CancelledBy)
	require.Contains(t, *snap.CancelledBy, "api")

	// Retry runs the cancelled days again.
	r = e.do(t, "POST", base+id+"/retry", nil)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, `"retried":`)
	r = e.do(t, "POST", base+id+"/cancel", nil)
	require.Equal(t, 200, r.status, r.body)
	e.wait(t, id)
}

func TestDocAndHealth(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	r := e.do(t, "GET", "/api/v1/openapi.json", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, r.header.Get("Content-Type"), "application/json")
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	for _, p := range []string{
		"/api/v1/sync-status/sync/batch",
		"/api/v1/sync-status/sync/batch/progress/{task_id}",
		"/api/v1/sync-status/sync/batch/{task_id}/cancel",
		"/api/v1/sync-status/sync/batch/{task_id}/pause",
		"/api/v1/sync-status/sync/batch/{task_id}/resume",
		"/api/v1/sync-status/sync/batch/{task_id}/retry",
		"/api/v1/sync-status/sync/batch/{task_id}/errors",
		"/api/v1/sync-status/sync/batch/active",
		"/api/v1/sync-status/sync/batches",
		"/api/v1/sync-status/list",
		"/api/v1/batches/active",
		"/api/v1/coverage",
		"/api/v1/days/{date}",
		"/healthz",
	} {
		require.Contains(t, doc.Paths, p)
	}

	r = e.do(t, "GET", "/healthz", nil)
	require.Equal(t, 200, r.status)
	require.JSONEq(t, `{"status":"ok","sources":[{"name":"demo","datasets":["daily","adj_factor","daily_basic"],"synthetic":true,"default":true}],
		"synthetic":"the demo source's data is synthetic: a made-up market, not real prices"}`, r.body)

	// The same app with a database that does not answer its ping.
	app, err := handlers.New(&handlers.Config{Batches: e.engine, Calendar: e.cal, Hub: e.hub, Auth: e.auth,
		DB: pingerFunc(func(context.Context) error { return errors.New("connection refused") })})
	require.NoError(t, err)
	down := &env{app: app}
	r = down.do(t, "GET", "/healthz", nil)
	require.Equal(t, 503, r.status)
	require.JSONEq(t, `{"status":"error","message":"database unreachable"}`, r.body)
}

type pingerFunc func(context.Context) error

func (f pingerFunc) Ping(ctx context.Context) error { return f(ctx) }

func TestStaticFiles(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	for path, ctype := range map[string]string{
		"/static/css/app.css":    "text/css",
		"/static/js/htmx.min.js": "javascript",
		"/static/js/ws.js":       "javascript",
		"/static/favicon.svg":    "image/svg+xml",
	} {
		r := e.do(t, "GET", path, nil)
		require.Equal(t, 200, r.status, path)
		require.Contains(t, r.header.Get("Content-Type"), ctype, path)
		require.NotEmpty(t, r.body, path)
	}
	r := e.do(t, "GET", "/static/nope.js", nil)
	require.Equal(t, 404, r.status)
}

func TestNewNeedsItsDependencies(t *testing.T) {
	t.Parallel()
	_, err := handlers.New(&handlers.Config{})
	require.Error(t, err)
}

// TestOpenAPIDescribesEveryField keeps the document in step with the structs the API
// writes: every JSON field of them is a property of its schema, and no more.
func TestOpenAPIDescribesEveryField(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	r := setup(t, options{}).do(t, "GET", "/api/v1/openapi.json", nil)
	require.Equal(t, 200, r.status)
	require.NoError(t, json.Unmarshal([]byte(r.body), &doc))
	for name, v := range map[string]any{
		"Snapshot": market.Snapshot{}, "ErrorEntry": market.ErrorEntry{}, "InFlight": market.InFlight{},
		"DayCell": market.DayCell{}, "BatchSummary": market.BatchSummary{}, "ErrorRecord": market.ErrorRecord{},
		"Coverage": market.Coverage{}, "CoverageDay": market.CoverageDay{},
		"LegacyTask": market.LegacyTask{}, "LegacyProgress": market.LegacyProgress{},
		"SyncPage": market.SyncPage{}, "SyncRecord": market.SyncRecord{}, "SyncStats": market.SyncStats{},
		"StageProgress": market.StageProgress{}, "Note": market.Note{}, "SourceInfo": market.SourceInfo{},
		"DayMarket": market.DayMarket{}, "DayRow": market.DayRow{}, "Breadth": market.Breadth{},
		"Bar": market.Bar{}, "BarSeries": market.BarSeries{},
	} {
		var fields []string
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			if tag := strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]; tag != "" && tag != "-" {
				fields = append(fields, tag)
			}
		}
		schema, ok := doc.Components.Schemas[name]
		require.True(t, ok, name)
		require.ElementsMatch(t, fields, slices.Collect(maps.Keys(schema.Properties)), "schema %s", name)
	}
}
