package alert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/alert"
	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/catalog"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/source/demo"
	"github.com/marketsync/marketsync/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m, "alert", store.Migrate) }

// secretKey sits in every test webhook's URL: it must reach no log, page or error.
const secretKey = "0123456789abcdefSECRETKEY"

// receiver is a local webhook endpoint: it records each request by path and answers
// with the next of its answers (the last one repeats).
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     map[string][][]byte
	answers map[string][]answer
}

type answer struct {
	status int
	body   string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: map[string][][]byte{}, answers: map[string][]answer{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got[req.URL.Path] = append(r.got[req.URL.Path], b)
		a := answer{200, `{"errcode":0,"errmsg":"ok"}`}
		if as := r.answers[req.URL.Path]; len(as) > 0 {
			a = as[0]
			if len(as) > 1 {
				r.answers[req.URL.Path] = as[1:]
			}
		}
		r.mu.Unlock()
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) answer(path string, as ...answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[path] = as
}

func (r *receiver) count(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got[path])
}

func (r *receiver) bodies(path string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got[path]...)
}

// url is the receiver's URL of a robot at path, with the secret key in its query.
func (r *receiver) url(path string) string { return r.srv.URL + path + "?key=" + secretKey }

// refusing is a source whose every fetch is refused: its batches fail.
type refusing struct{ *demo.Source }

func (refusing) Fetch(context.Context, market.Dataset, time.Time) (market.Rows, error) {
	return nil, fmt.Errorf("%w: the token was rejected", market.ErrSourceRefused)
}

type env struct {
	pool   *pgxpool.Pool
	engine *engine.Engine
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setup runs an engine on a database of the test's own, on src (nil: the demo market
// failing every fetch), until the test ends; alerts are tried twice, 10 ms apart.
func setup(t *testing.T, src engine.Source) *env {
	t.Helper()
	pool, err := store.Open(context.Background(), pgtest.NewDB(t), 10)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	cal, err := calendar.New()
	require.NoError(t, err)
	if src == nil {
		src = demo.New(cal, demo.Config{FailRate: 1})
	}
	logs := &syncBuffer{}
	eng, err := engine.New(context.Background(), pool, src, cal, &engine.Config{
		Parallelism: 2, RetryBackoff: 10 * time.Millisecond, MaxAttempts: 2,
		AlertAttempts: 2, AlertBackoff: 10 * time.Millisecond,
		Alerts: alert.NewSender(&alert.Config{PublicURL: "https://ms.example.com", Lang: catalog.EN}),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = eng.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		require.NotContains(t, logs.String(), secretKey, "the webhook URL's key reached the log")
	})
	return &env{pool: pool, engine: eng, logs: logs}
}

func (e *env) hook(t *testing.T, name string, f market.WebhookFormat, url string, enabled bool, events ...market.AlertEvent) *market.Webhook {
	t.Helper()
	w := &market.Webhook{Name: name, Format: f, URL: url, Events: events, Enabled: enabled}
	require.NoError(t, e.engine.SaveWebhook(context.Background(), w, market.Actor{By: "test"}))
	return w
}

// run starts a batch over two trading days and waits until it ends.
func (e *env) run(t *testing.T) *market.Snapshot {
	t.Helper()
	d1, _ := market.ParseDate("2025-09-01")
	d2, _ := market.ParseDate("2025-09-02")
	snap, err := e.engine.Start(context.Background(), market.Spec{Start: d1, End: d2, Force: true, CreatedBy: "test"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	snap, err = e.engine.Watch(ctx, snap.TaskID, 50*time.Millisecond, func(*market.Snapshot) {})
	require.NoError(t, err)
	return snap
}

// alertJobs counts the queued alert deliveries by state.
func (e *env) alertJobs(t *testing.T) map[string]int {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT state::text, count(*) FROM river_job WHERE kind = 'marketsync.alert' GROUP BY 1`)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		require.NoError(t, rows.Scan(&s, &n))
		out[s] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func (e *env) settled(t *testing.T, want int) {
	t.Helper()
	require.Eventually(t, func() bool {
		jobs := e.alertJobs(t)
		return jobs["completed"]+jobs["discarded"] == want && len(jobs) <= 2
	}, time.Minute, 20*time.Millisecond, "alert jobs: %v", e.alertJobs(t))
	require.Equal(t, want, e.alertJobs(t)["completed"]+e.alertJobs(t)["discarded"])
}

func TestFailedBatchAlertsEachMatchingWebhookOnce(t *testing.T) {
	t.Parallel()
	cal, err := calendar.New()
	require.NoError(t, err)
	e := setup(t, refusing{demo.New(cal, demo.Config{})})
	r := newReceiver(t)
	r.answer("/feishu", answer{200, `{"code":0,"msg":"success"}`})
	e.hook(t, "wecom", market.FormatWeCom, r.url("/wecom"), true, market.AlertBatchFailed)
	e.hook(t, "feishu", market.FormatFeishu, r.url("/feishu"), true, market.AlertBatchFailed, market.AlertBatchFailedDays)
	e.hook(t, "generic", market.FormatGeneric, r.url("/generic"), true, market.AlertBatchFailed)
	e.hook(t, "off", market.FormatGeneric, r.url("/off"), false, market.AlertBatchFailed)
	e.hook(t, "days only", market.FormatGeneric, r.url("/days"), true, market.AlertBatchFailedDays)

	snap := e.run(t)
	require.Equal(t, market.BatchFailed, snap.Status)
	e.settled(t, 3)
	for _, p := range []string{"/wecom", "/feishu", "/generic"} {
		require.Equal(t, 1, r.count(p), p)
	}
	require.Zero(t, r.count("/off"), "a disabled webhook gets nothing")
	require.Zero(t, r.count("/days"), "nor one that wants other events")

	var got map[string]any
	require.NoError(t, json.Unmarshal(r.bodies("/generic")[0], &got))
	require.Equal(t, "batch_failed", got["event"])
	require.Equal(t, snap.TaskID, got["task_id"])
	require.Equal(t, "failed", got["status"])
	require.Equal(t, "https://ms.example.com/batches/"+snap.TaskID, got["link"])
	require.Contains(t, got["message"], "the token was rejected")
	require.Contains(t, string(r.bodies("/wecom")[0]), `"msgtype":"markdown"`)

	hooks, err := e.engine.Webhooks(context.Background())
	require.NoError(t, err)
	for _, w := range hooks[:3] {
		require.Equal(t, market.DeliveryOK, w.LastStatus, w.Name)
	}
}

func TestBatchWithFailedDaysAlerts(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	r := newReceiver(t)
	e.hook(t, "dingtalk", market.FormatDingTalk, r.url("/ding"), true, market.AlertBatchFailedDays)
	e.hook(t, "failed only", market.FormatGeneric, r.url("/failed"), true, market.AlertBatchFailed)

	snap := e.run(t)
	require.Equal(t, market.BatchCompleted, snap.Status)
	require.Equal(t, 2, snap.Failed)
	e.settled(t, 1)
	require.Equal(t, 1, r.count("/ding"))
	require.Zero(t, r.count("/failed"))
	body := string(r.bodies("/ding")[0])
	require.Contains(t, body, "completed with 2 failed days")
	require.Contains(t, body, snap.TaskID)
}

func TestRetriesWithBackoffThenRecordsFailure(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	r := newReceiver(t)
	r.answer("/flaky", answer{500, "oops"}, answer{200, "{}"})
	r.answer("/refusing", answer{200, `{"errcode":93000,"errmsg":"invalid webhook url"}`})
	flaky := e.hook(t, "flaky", market.FormatGeneric, r.url("/flaky"), true, market.AlertBatchFailedDays)
	refused := e.hook(t, "refused", market.FormatWeCom, r.url("/refusing"), true, market.AlertBatchFailedDays)

	e.run(t)
	e.settled(t, 2)
	require.Equal(t, 2, r.count("/flaky"), "500 then 200: two tries")
	require.Equal(t, 2, r.count("/refusing"), "a robot's errcode is a failure, tried AlertAttempts times")

	w, err := e.engine.Webhook(context.Background(), flaky.ID)
	require.NoError(t, err)
	require.Equal(t, market.DeliveryOK, w.LastStatus)
	require.Empty(t, w.LastError)
	w, err = e.engine.Webhook(context.Background(), refused.ID)
	require.NoError(t, err)
	require.Equal(t, market.DeliveryFailed, w.LastStatus)
	require.Contains(t, w.LastError, "93000")
	require.Contains(t, w.LastError, "invalid webhook url")
	require.NotContains(t, w.LastError, secretKey)

	// River kept each failed attempt's error: none holds the key either.
	var errs string
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT coalesce(string_agg(errors::text, ' '), '') FROM river_job WHERE kind = 'marketsync.alert'`).Scan(&errs))
	require.Contains(t, errs, "HTTP 500")
	require.NotContains(t, errs, secretKey)
}

func TestSendTest(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	r := newReceiver(t)
	r.answer("/bad", answer{200, `{"code":19021,"msg":"sign match fail"}`})
	ok := e.hook(t, "ok", market.FormatDingTalk, r.url("/ok"), true, market.AlertBatchFailed)
	bad := e.hook(t, "bad", market.FormatFeishu, r.url("/bad"), false, market.AlertBatchFailed)
	down := e.hook(t, "down", market.FormatGeneric, "http://127.0.0.1:1/hook?key="+secretKey, true, market.AlertBatchFailed)

	res, err := e.engine.SendTest(context.Background(), ok.ID)
	require.NoError(t, err)
	require.Equal(t, 200, res.Status)
	require.Contains(t, string(r.bodies("/ok")[0]), "marketsync: test alert")

	_, err = e.engine.SendTest(context.Background(), bad.ID)
	var de *alert.DeliveryError
	require.ErrorAs(t, err, &de, "a disabled webhook can still be tested")
	require.Equal(t, 19021, de.RobotCode)
	require.Contains(t, err.Error(), "sign match fail")

	_, err = e.engine.SendTest(context.Background(), down.ID)
	require.ErrorAs(t, err, &de)
	require.NotContains(t, err.Error(), secretKey)
	require.True(t, strings.HasPrefix(err.Error(), "posting to 127.0.0.1:1: "), err.Error())
}
