package tushare_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/source/demo"
	"github.com/marketsync/marketsync/internal/source/tushare"
	"github.com/marketsync/marketsync/internal/source/tushare/tusharetest"
	"github.com/marketsync/marketsync/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m, "tushare", store.Migrate) }

// The engine's view of a day source, and what the lead wires in besides.
var _ interface {
	Name() string
	Datasets() []string
	Fetch(ctx context.Context, ds market.Dataset, day time.Time) (market.Rows, error)
	StockBasic(ctx context.Context) (market.Rows, error)
	TradeCalendar(ctx context.Context, start, end time.Time) ([]market.CalendarDay, error)
} = (*tushare.Source)(nil)

// shared is one warm demo market for every fake of the package: building one costs a
// cold walk of its prices.
var shared = sync.OnceValues(func() (*demo.Source, error) {
	cal, err := calendar.New()
	if err != nil {
		return nil, err
	}
	published := cal.Last().AddDate(0, 0, 1)
	return demo.New(cal, demo.Config{Now: func() time.Time { return published }}), nil
})

func date(s string) time.Time {
	d, err := market.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// setup starts a fake on the shared market and a client of it (nil limiter). Fields of
// cfg left zero point the client at the fake with the fake's token.
func setup(t testing.TB, fake *tusharetest.Config, cfg tushare.Config) (*tusharetest.Server, *tushare.Source) {
	t.Helper()
	m, err := shared()
	require.NoError(t, err)
	if fake == nil {
		fake = &tusharetest.Config{}
	}
	fake.Market = m
	srv := tusharetest.New(t, fake)
	if cfg.URL == "" {
		cfg.URL = srv.URL
	}
	if cfg.Token == "" {
		cfg.Token = tushare.Secret(srv.Token)
	}
	src, err := tushare.New(nil, &cfg)
	require.NoError(t, err)
	return srv, src
}

func dataset(t testing.TB, name string) market.Dataset {
	t.Helper()
	ds, err := market.LookupDataset(name)
	require.NoError(t, err)
	return ds
}

// collect reads every row, copied.
func collect(t testing.TB, rs market.Rows) [][]any {
	t.Helper()
	var out [][]any
	for rs.Next() {
		v, err := rs.Values()
		require.NoError(t, err)
		out = append(out, slices.Clone(v))
	}
	require.NoError(t, rs.Err())
	return out
}

// demoRows is what the demo market itself gives for ds on day.
func demoRows(t testing.TB, ds market.Dataset, day time.Time) [][]any {
	t.Helper()
	m, err := shared()
	require.NoError(t, err)
	rs, err := m.Fetch(context.Background(), ds, day)
	require.NoError(t, err)
	return collect(t, rs)
}

func fetch(t testing.TB, src *tushare.Source, name string, day time.Time) [][]any {
	t.Helper()
	rs, err := src.Fetch(context.Background(), dataset(t, name), day)
	require.NoError(t, err)
	n := market.RowCount(rs)
	rows := collect(t, rs)
	require.Equal(t, len(rows), n, "Len counts the rows")
	return rows
}

func TestFetchGetsTheWholeDayInColumnOrder(t *testing.T) {
	t.Parallel()
	srv, src := setup(t, nil, tushare.Config{})
	day := date("2024-07-01")
	for _, name := range src.Datasets() {
		want := demoRows(t, dataset(t, name), day)
		require.Greater(t, len(want), 5000)
		require.Equal(t, want, fetch(t, src, name, day), name)
		require.Equal(t, tusharetest.Stats{Calls: 1, Served: 1}, srv.Stats(name), "%s: one call under the cap", name)
	}
	// Nulls arrive as nil: loss-making stocks have no pe.
	nulls := 0
	for _, r := range fetch(t, src, "daily_basic", day) {
		if r[6] == nil {
			nulls++
		}
	}
	require.Positive(t, nulls)
	// A closed day has no rows.
	require.Empty(t, fetch(t, src, "daily", date("2024-10-01")))
}

func TestFetchPagesPastTheCap(t *testing.T) {
	t.Parallel()
	day := date("2024-07-01")
	for _, tc := range []struct {
		name  string
		fault tusharetest.Fault
	}{
		{"has_more present", 0},
		{"has_more absent", tusharetest.FaultNoHasMore},
		{"fields shuffled, one more than asked", tusharetest.FaultShuffledFields},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sizes := map[string]int{"daily": 1000, "adj_factor": 1000, "daily_basic": 1000}
			srv, src := setup(t, &tusharetest.Config{Cap: 1000}, tushare.Config{PageSizes: sizes})
			for _, name := range src.Datasets() {
				srv.Inject(name, tc.fault, -1)
				want := demoRows(t, dataset(t, name), day)
				require.Equal(t, want, fetch(t, src, name, day), name)
				pages := len(want)/1000 + 1 // the last page is short, or empty after a full one
				require.Equal(t, pages, srv.Stats(name).Served, name)
			}
		})
	}
}

func TestFetchStopsWhenTheServerIgnoresOffset(t *testing.T) {
	t.Parallel()
	srv, src := setup(t, &tusharetest.Config{Cap: 1000}, tushare.Config{PageSizes: map[string]int{"daily": 1000}})
	srv.Inject("daily", tusharetest.FaultIgnoreOffset, -1)
	_, err := src.Fetch(context.Background(), dataset(t, "daily"), date("2024-07-01"))
	require.ErrorContains(t, err, "repeats")
	require.Equal(t, 2, srv.Stats("daily").Calls)

	// And a bound on pages stops a server that always has more.
	srv, src = setup(t, &tusharetest.Config{Cap: 100}, tushare.Config{PageSizes: map[string]int{"daily": 100}, MaxPages: 5})
	_, err = src.Fetch(context.Background(), dataset(t, "daily"), date("2024-07-01"))
	require.ErrorContains(t, err, "more than 5 pages")
	require.Equal(t, 5, srv.Stats("daily").Calls)
}

func TestRefusalsAndFailures(t *testing.T) {
	t.Parallel()
	const secret = "wrong-token-9f8e7d6c5b4a"
	for _, tc := range []struct {
		name     string
		fault    tusharetest.Fault
		badToken bool
		is       error
		says     []string
	}{
		{"bad token", 0, true, market.ErrSourceRefused, []string{"Tushare rejected the token", "40101", "您的token不对"}},
		{"too many addresses", tusharetest.FaultTooManyIPs, false, market.ErrSourceRefused, []string{"IP数量超限"}},
		{"per hour", tusharetest.FaultPerHour, false, market.ErrQuotaExhausted, []string{"每小时最多访问"}},
		{"per day, in detail only", tusharetest.FaultPerDay, false, market.ErrQuotaExhausted, []string{"每天最多访问", "request_id"}},
		{"no permission", tusharetest.FaultPermission, false, market.ErrDatasetRefused, []string{"没有访问该接口的权限"}},
		{"HTTP 500", tusharetest.FaultHTTP500, false, nil, []string{"HTTP 500"}},
		{"malformed JSON", tusharetest.FaultMalformed, false, nil, []string{"malformed"}},
		{"unknown code echoing the token", tusharetest.FaultEchoToken, false, nil, []string{"50001", "[redacted]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tushare.Config{}
			if tc.badToken {
				cfg.Token = secret
			}
			srv, src := setup(t, nil, cfg)
			srv.Inject("daily_basic", tc.fault, 1)
			_, err := src.Fetch(context.Background(), dataset(t, "daily_basic"), date("2024-07-01"))
			require.Error(t, err)
			for _, sentinel := range []error{market.ErrSourceRefused, market.ErrQuotaExhausted, market.ErrDatasetRefused} {
				require.Equal(t, sentinel == tc.is, errors.Is(err, sentinel), "%v: is %v?", err, sentinel)
			}
			require.ErrorContains(t, err, "daily_basic", "the message names the dataset")
			for _, s := range tc.says {
				require.ErrorContains(t, err, s)
			}
			require.NotContains(t, err.Error(), secret)
			require.NotContains(t, err.Error(), srv.Token)
			require.Zero(t, srv.Stats("daily_basic").Served)
		})
	}
}

func TestPerMinuteRefusalIsWaitedOut(t *testing.T) {
	t.Parallel()
	clock := tusharetest.NewClock(time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC))
	var logs bytes.Buffer
	srv, src := setup(t,
		&tusharetest.Config{Limits: map[string]int{"daily": 2}, Now: clock.Now},
		tushare.Config{Now: clock.Now, Sleep: clock.Sleep, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, d := range []string{"2025-03-03", "2025-03-04", "2025-03-05"} {
		clock.Advance(time.Second)
		require.NotEmpty(t, fetch(t, src, "daily", date(d)), d)
	}
	require.Equal(t, tusharetest.Stats{Calls: 4, Served: 3, Refused: 1}, srv.Stats("daily"))
	require.Equal(t, []time.Duration{time.Minute}, clock.Slept(), "until the window after the refusal")
	require.Contains(t, logs.String(), "per-minute limit")

	// An injected refusal too, and a server that keeps refusing ends in a plain error.
	srv.Inject("daily", tusharetest.FaultPerMinute, 1)
	require.NotEmpty(t, fetch(t, src, "daily", date("2025-03-06")))
	srv.Inject("daily", tusharetest.FaultPerMinute, 100)
	_, err := src.Fetch(context.Background(), dataset(t, "daily"), date("2025-03-07"))
	require.ErrorContains(t, err, "per-minute limit")
	require.False(t, errors.Is(err, market.ErrQuotaExhausted) || errors.Is(err, market.ErrSourceRefused))
}

func TestPerMinuteWaitEndsWithTheContext(t *testing.T) {
	t.Parallel()
	srv, src := setup(t, nil, tushare.Config{})
	srv.Inject("daily", tusharetest.FaultPerMinute, -1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := src.Fetch(ctx, dataset(t, "daily"), date("2025-03-03"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 10*time.Second, "not a minute")
}

func TestSlowAnswerHitsTheTimeout(t *testing.T) {
	t.Parallel()
	srv, src := setup(t, &tusharetest.Config{SlowDelay: time.Minute}, tushare.Config{Timeout: time.Second})
	srv.Inject("trade_cal", tusharetest.FaultSlow, 1)
	ctx := context.Background()
	start := time.Now()
	_, err := src.TradeCalendar(ctx, date("2025-03-03"), date("2025-03-07"))
	require.ErrorContains(t, err, "no answer within 1s")
	require.NotErrorIs(t, err, context.DeadlineExceeded, "the call's timeout is no cancellation of the caller")
	require.Less(t, time.Since(start), 10*time.Second)
	days, err := src.TradeCalendar(ctx, date("2025-03-03"), date("2025-03-07"))
	require.NoError(t, err, "the next call is on time")
	require.Len(t, days, 5)
}

func TestCancelAbortsACallInFlight(t *testing.T) {
	t.Parallel()
	srv, src := setup(t, &tusharetest.Config{SlowDelay: time.Minute}, tushare.Config{})
	srv.Inject("daily", tusharetest.FaultSlow, 1)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := src.Fetch(ctx, dataset(t, "daily"), date("2025-03-03"))
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(start), 10*time.Second)
}

func TestTradeCalendar(t *testing.T) {
	t.Parallel()
	m, err := shared()
	require.NoError(t, err)
	srv, src := setup(t, nil, tushare.Config{})
	ctx := context.Background()
	for _, r := range [][2]string{{"2025-09-28", "2025-10-10"}, {"1991-01-01", "2026-12-31"}} {
		want, err := m.TradeCalendar(ctx, date(r[0]), date(r[1]))
		require.NoError(t, err)
		got, err := src.TradeCalendar(ctx, date(r[0]), date(r[1]))
		require.NoError(t, err)
		require.Equal(t, want, got, r)
	}
	// 13 days in one call, then 13,149 days in three pages.
	require.Equal(t, 4, srv.Stats("trade_cal").Served)
}

func TestStockBasicMergesEveryListStatus(t *testing.T) {
	t.Parallel()
	m, err := shared()
	require.NoError(t, err)
	srv, src := setup(t, nil, tushare.Config{})
	want, err := m.StockBasic(context.Background())
	require.NoError(t, err)
	got, err := src.StockBasic(context.Background())
	require.NoError(t, err)
	require.Equal(t, market.RowCount(want), market.RowCount(got))
	wantRows := collect(t, want)
	require.Equal(t, wantRows, collect(t, got))
	perStatus := make(map[any]int)
	for _, r := range wantRows {
		perStatus[r[11]]++ // list_status
	}
	calls := 0
	for _, status := range market.ListStatuses() {
		require.Positive(t, perStatus[status], status)
		calls += perStatus[status]/6000 + 1 // one listing per status, paged by 6000
	}
	require.Equal(t, calls, srv.Stats("stock_basic").Served)
}

func TestUnknownDataset(t *testing.T) {
	t.Parallel()
	srv, src := setup(t, nil, tushare.Config{})
	_, err := src.Fetch(context.Background(), market.Dataset{Name: "minute", DateColumn: "trade_date"}, date("2025-03-03"))
	require.ErrorIs(t, err, market.ErrUnknownDataset)
	_, err = src.Fetch(context.Background(), market.StockBasic(), date("2025-03-03"))
	require.ErrorIs(t, err, market.ErrUnknownDataset, "stock_basic is not a per-day dataset")
	require.Zero(t, srv.Stats("minute").Calls)
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	reached := make(chan struct{}, 1)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached <- struct{}{} }))
	defer elsewhere.Close()
	redirect := httptest.NewServer(http.RedirectHandler(elsewhere.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	src, err := tushare.New(nil, &tushare.Config{Token: "redirected-token", URL: redirect.URL})
	require.NoError(t, err)
	_, err = src.Fetch(context.Background(), dataset(t, "daily"), date("2025-03-03"))
	require.ErrorContains(t, err, "HTTP 307")
	require.Len(t, reached, 0, "the token's body went nowhere else")
}

func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := tusharetest.NewClock(time.Now())
	srv, src := setup(t, nil, tushare.Config{Logger: logger, Now: clock.Now, Sleep: clock.Sleep})
	token := srv.Token
	var texts []string
	for _, f := range []tusharetest.Fault{0, tusharetest.FaultPermission, tusharetest.FaultPerMinute,
		tusharetest.FaultPerHour, tusharetest.FaultPerDay, tusharetest.FaultTooManyIPs, tusharetest.FaultHTTP500,
		tusharetest.FaultMalformed, tusharetest.FaultEchoToken} {
		srv.Inject("daily", f, 1)
		_, err := src.Fetch(context.Background(), dataset(t, "daily"), date("2025-03-03"))
		if err != nil {
			texts = append(texts, err.Error(), fmt.Sprintf("%+v %#v", err, err))
		}
	}
	require.Len(t, texts, 2*7)
	_, err := tushare.New(nil, &tushare.Config{Token: tushare.Secret(token), URL: "ftp://" + token})
	require.Error(t, err)
	texts = append(texts, err.Error())

	cfg, err := tushare.ConfigFromEnv(func(k string) string {
		return map[string]string{tushare.EnvToken: token, tushare.EnvURL: srv.URL + "?token=" + token}[k]
	})
	require.NoError(t, err)
	b, err := json.Marshal(struct{ Token tushare.Secret }{cfg.Token})
	require.NoError(t, err)
	texts = append(texts, string(b), fmt.Sprintf("%v|%+v|%#v|%s|%d|%x|%q", cfg, cfg, cfg, cfg.Token, cfg.Token, cfg.Token, cfg.Token))
	logger.Info("config", "cfg", cfg, "token", cfg.Token)
	texts = append(texts, logs.String())
	require.Contains(t, logs.String(), `"api":"daily"`, "calls are logged")
	for _, s := range texts {
		require.NotContains(t, s, token)
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	_, err := tushare.ConfigFromEnv(env(nil))
	require.ErrorContains(t, err, tushare.EnvToken)

	cfg, err := tushare.ConfigFromEnv(env(map[string]string{tushare.EnvToken: "abc"}))
	require.NoError(t, err)
	require.Equal(t, tushare.Secret("abc"), cfg.Token)
	require.Empty(t, cfg.URL, "the default applies in New")

	cfg, err = tushare.ConfigFromEnv(env(map[string]string{tushare.EnvToken: "abc", tushare.EnvURL: "https://api.tushare.pro",
		tushare.EnvTimeout: "10s", tushare.EnvRateLimits: "daily=500, adj_factor=200"}))
	require.NoError(t, err)
	require.Equal(t, "https://api.tushare.pro", cfg.URL)
	require.Equal(t, 10*time.Second, cfg.Timeout)
	require.Equal(t, map[string]int{"daily": 500, "adj_factor": 200}, cfg.Limits)
	require.Equal(t, 50, tushare.DefaultLimits()["stock_basic"])

	for _, bad := range []map[string]string{
		{tushare.EnvTimeout: "30"}, {tushare.EnvTimeout: "-1s"},
		{tushare.EnvRateLimits: "daily"}, {tushare.EnvRateLimits: "daily=fast"}, {tushare.EnvRateLimits: "daily=0"},
		{tushare.EnvURL: "api.tushare.pro"},
	} {
		bad[tushare.EnvToken] = "secret-token-value"
		_, err := tushare.ConfigFromEnv(env(bad))
		require.Error(t, err, bad)
		require.NotContains(t, err.Error(), "secret-token-value")
	}
}

// TestPaceFollowsTheLimit: a day of a dataset takes at least one call at the rate the
// limiter allows (95% of the account's limit); an api without a limit has no pace.
func TestPaceFollowsTheLimit(t *testing.T) {
	t.Parallel()
	src, err := tushare.New(nil, &tushare.Config{Token: "x", Limits: map[string]int{"daily": 500, "adj_factor": -1}})
	require.NoError(t, err)
	require.Equal(t, time.Minute/475, src.Pace("daily"))
	require.Equal(t, time.Duration(0), src.Pace("adj_factor"))
}
