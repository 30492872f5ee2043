package baostock_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/baostock"
	"github.com/marketsync/marketsync/internal/source/baostock/baostocktest"
	"github.com/marketsync/marketsync/internal/source/demo"
)

func date(s string) time.Time {
	d, err := market.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// shared is one demo market for every test: building one costs a cold walk.
var shared = sync.OnceValues(func() (*demo.Source, error) {
	cal, err := calendar.New()
	if err != nil {
		return nil, err
	}
	return demo.New(cal, demo.Config{Now: func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }}), nil
})

var sharedCal = sync.OnceValues(calendar.New)

// setup starts a fake serving the demo market and a client of it.
func setup(t *testing.T, fake baostocktest.Config, cfg baostock.Config) (*baostocktest.Server, *baostock.Client) {
	t.Helper()
	src, err := shared()
	require.NoError(t, err)
	cal, err := sharedCal()
	require.NoError(t, err)
	fake.Market, fake.Calendar = src, cal
	srv := baostocktest.New(t, fake)
	cfg.Addr = srv.Addr()
	c := baostock.New(&cfg)
	t.Cleanup(func() { c.Close() })
	return srv, c
}

// within fails the test if f has not returned after a generous while: a hang is the bug.
func within(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("the call hangs")
		return nil
	}
}

// demoDaily returns the demo's daily rows over days by stock, as the engine gets them.
func demoDaily(t *testing.T, days []time.Time) map[string][][]any {
	t.Helper()
	src, err := shared()
	require.NoError(t, err)
	ds, err := market.LookupDataset("daily")
	require.NoError(t, err)
	out := map[string][][]any{}
	for _, d := range days {
		rows, err := src.Fetch(context.Background(), ds, d)
		require.NoError(t, err)
		for rows.Next() {
			v, _ := rows.Values()
			out[v[0].(string)] = append(out[v[0].(string)], slices.Clone(v))
		}
		require.NoError(t, rows.Err())
	}
	return out
}

// The client's requests are the captured ones byte for byte, and it decodes every
// captured reply; page 2 of each query is answered empty by the fake.
func TestClientReplaysTheCaptures(t *testing.T) {
	t.Parallel()
	srv := baostocktest.New(t, baostocktest.Config{CaptureDir: "testdata", RecordRequests: true})
	stamp := time.Date(2026, 4, 22, 8, 38, 0, 0, time.UTC)
	c := baostock.New(&baostock.Config{Addr: srv.Addr(), Now: func() time.Time { return stamp }})
	ctx := context.Background()

	require.NoError(t, c.Login(ctx))
	days, err := c.TradeDates(ctx, date("2024-01-01"), date("2024-01-10"))
	require.NoError(t, err)
	require.Len(t, days, 10)
	require.Equal(t, baostock.TradeDate{Date: date("2024-01-02"), Trading: true}, days[1])
	require.False(t, days[0].Trading)

	all, err := c.AllStock(ctx, date("2024-01-02"))
	require.NoError(t, err)
	require.Len(t, all, 5638)
	require.Equal(t, baostock.Security{Code: "sh.000001", Trading: true, Name: "上证综合指数"}, all[0])

	basic, err := c.StockBasic(ctx, "sh.600000")
	require.NoError(t, err)
	require.Equal(t, []baostock.StockInfo{{Code: "sh.600000", Name: "浦发银行", IPODate: date("1999-11-10"),
		Type: "1", Listed: true}}, basic)

	events, err := c.AdjustFactor(ctx, "sh.600000", date("2023-01-01"), date("2023-12-31"))
	require.NoError(t, err)
	require.Equal(t, []baostock.AdjustEvent{{Code: "sh.600000", Date: date("2023-07-21"),
		Fore: 0.936211, Back: 11.949786, Adjust: 11.949786}}, events)

	fields := "date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,pctChg,isST"
	k, err := c.HistoryKData(ctx, baostock.KDataQuery{Code: "sh.600000", Fields: fields,
		Start: date("2024-01-01"), End: date("2024-01-31"), Adjust: "2"})
	require.NoError(t, err)
	require.Equal(t, strings.Split(fields, ","), k.Fields)
	require.Len(t, k.Rows, 22)
	require.Equal(t, "146066303.7200", k.Rows[0][k.Col("amount")])

	require.NoError(t, c.Logout(ctx))

	sent := srv.Requests()
	dirs, err := filepath.Glob("testdata/*/request.bin")
	require.NoError(t, err)
	require.Len(t, dirs, 6)
	for _, p := range dirs {
		want, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Contains(t, sent, want, "the client did not send %s byte for byte", p)
	}
	require.Equal(t, "00.9.10\x0102\x010000000031logout\x01anonymous\x0120260422163800\x01851938480\n",
		string(sent[len(sent)-1]), "logout stamps exchange time")
	st := srv.Stats()
	require.Equal(t, 1, st.Connections)
	require.Equal(t, 1, st.Calls[baostock.TypeLogin])
	require.Equal(t, 2, st.Calls[baostock.TypeKData], "page 1, then the empty page 2")
}

// pickSuspended finds a Shanghai or Shenzhen stock listed over days with at least one
// suspended day among them (a demo stock has no row on such a day).
func pickSuspended(t *testing.T, days []time.Time, rows map[string][][]any) string {
	t.Helper()
	src, err := shared()
	require.NoError(t, err)
	for _, st := range src.Stocks() {
		if n := len(rows[st.Code]); st.ListDate.Before(days[0]) && st.DelistDate.IsZero() &&
			!strings.HasSuffix(st.Code, ".BJ") && n > 0 && n < len(days) {
			return st.Code
		}
	}
	t.Fatal("no suspended stock in the range")
	return ""
}

// The demo market comes through the protocol (compressed k data, paging) and the
// mapping unchanged: daily rows equal the demo's, suspended days left out.
func TestFetchStockServesTheDemoMarket(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, baostocktest.Config{}, baostock.Config{PerPage: 7})
	cal, err := sharedCal()
	require.NoError(t, err)
	days, err := cal.TradingDays(date("2024-01-02"), date("2024-01-31"))
	require.NoError(t, err)
	demoRows := demoDaily(t, days)
	code := pickSuspended(t, days, demoRows)

	r, err := c.FetchStock(context.Background(), code, days[0], days[len(days)-1], baostock.FetchOptions{})
	require.NoError(t, err)
	want := demoRows[code]
	require.Less(t, len(want), len(days))
	require.Equal(t, want, r.Daily)
	require.Len(t, r.DailyBasic, len(want))
	require.Len(t, r.AdjFactor, len(days), "suspended days keep their factor")
	for i, row := range r.DailyBasic {
		require.Equal(t, want[i][:2], row[:2])
		require.Equal(t, want[i][5], row[2], "close")
		require.Greater(t, row[3], 0.0, "turnover")
	}
	for _, row := range r.AdjFactor {
		require.Len(t, row, len(baostock.AdjFactorColumns()))
		require.GreaterOrEqual(t, row[2], 1.0)
	}
	require.Equal(t, r.Daily, r.ByDataset()["daily"])
	pages := (len(days)+6)/7 + 1 // the last one empty
	st := srv.Stats()
	require.Equal(t, pages, st.Calls[baostock.TypeKData])
	require.Equal(t, 1, st.Connections)

	// Knowing the most rows the range can hold saves the empty page once they all came
	// (suspended days have rows too); fewer than that pages on to the empty page.
	// A stock Baostock lists (it has no Beijing stocks), picked in code order.
	full := ""
	for _, c := range slices.Sorted(maps.Keys(demoRows)) {
		if len(demoRows[c]) == len(days) && !strings.HasSuffix(c, ".BJ") {
			full = c
			break
		}
	}
	require.NotEmpty(t, full)
	opt := baostock.FetchOptions{MaxRows: len(days), NoAdjFactor: true}
	r, err = c.FetchStock(context.Background(), full, days[0], days[len(days)-1], opt)
	require.NoError(t, err)
	require.Equal(t, demoRows[full], r.Daily)
	require.Empty(t, r.AdjFactor, "not asked for")
	after := srv.Stats()
	require.Equal(t, pages-1, after.Calls[baostock.TypeKData]-st.Calls[baostock.TypeKData], "no empty page")
	require.Equal(t, st.Calls[baostock.TypeAdjustFactor], after.Calls[baostock.TypeAdjustFactor])
	opt.MaxRows++
	r, err = c.FetchStock(context.Background(), code, days[0], days[len(days)-1], opt)
	require.NoError(t, err)
	require.Equal(t, want, r.Daily)
	require.Equal(t, pages, srv.Stats().Calls[baostock.TypeKData]-after.Calls[baostock.TypeKData])
}

// Raw, back- and forward-adjusted prices relate by the factors the fake reports.
func TestAdjustedKDataFollowsTheFactors(t *testing.T) {
	t.Parallel()
	_, c := setup(t, baostocktest.Config{}, baostock.Config{})
	ctx := context.Background()
	src, err := shared()
	require.NoError(t, err)
	code := ""
	for _, st := range src.Stocks() {
		if strings.HasSuffix(st.Code, ".SH") && st.ListDate.Year() < 2015 && st.DelistDate.IsZero() {
			code, _ = baostock.BaostockCode(st.Code)
			break
		}
	}
	events, err := c.AdjustFactor(ctx, code, baostock.EarliestDate(), date("2024-12-31"))
	require.NoError(t, err)
	require.NotEmpty(t, events)
	q := baostock.KDataQuery{Code: code, Fields: "date,close", Start: date("2024-03-01"), End: date("2024-03-08")}
	raw, err := c.HistoryKData(ctx, q)
	require.NoError(t, err)
	q.Adjust = "1"
	hfq, err := c.HistoryKData(ctx, q)
	require.NoError(t, err)
	rows := baostock.AdjFactorRows("x", events, []time.Time{date("2024-03-01")})
	require.Len(t, raw.Rows, len(hfq.Rows))
	r, err := strconv.ParseFloat(raw.Rows[0][1], 64)
	require.NoError(t, err)
	h, err := strconv.ParseFloat(hfq.Rows[0][1], 64)
	require.NoError(t, err)
	require.InDelta(t, r*rows[0][2].(float64), h, 1e-6)
}

func TestUniverseAndStocksBetween(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, baostocktest.Config{}, baostock.Config{PerPage: 1000})
	ctx := context.Background()
	src, err := shared()
	require.NoError(t, err)
	d := date("2024-01-02")
	var want []string
	for _, st := range src.Stocks() {
		if !strings.HasSuffix(st.Code, ".BJ") && !st.ListDate.After(d) && (st.DelistDate.IsZero() || d.Before(st.DelistDate)) {
			want = append(want, st.Code)
		}
	}
	got, err := c.Universe(ctx, d)
	require.NoError(t, err)
	require.Equal(t, want, got, "every listed Shanghai and Shenzhen stock, no index, no Beijing stock")
	all, err := c.AllStock(ctx, d)
	require.NoError(t, err)
	require.Greater(t, len(all), len(got), "indices are in the raw universe")
	require.Equal(t, (len(all)+999)/1000*2+2, srv.Stats().Calls[baostock.TypeAllStock], "pages, twice, each with the empty last page")

	weekend, err := c.Universe(ctx, date("2024-01-06"))
	require.NoError(t, err)
	require.Empty(t, weekend)

	between, err := c.StocksBetween(ctx, d, date("2024-12-31"))
	require.NoError(t, err)
	listed := map[string]bool{}
	for _, c := range between {
		listed[c] = true
	}
	for _, c := range want {
		require.True(t, listed[c], "%s is listed in 2024", c)
	}
}

func TestTradeDatesMatchTheCalendar(t *testing.T) {
	t.Parallel()
	_, c := setup(t, baostocktest.Config{}, baostock.Config{PerPage: 10})
	cal, err := sharedCal()
	require.NoError(t, err)
	got, err := c.TradeDates(context.Background(), date("2024-09-25"), date("2024-10-15"))
	require.NoError(t, err)
	require.Len(t, got, 21)
	var open []time.Time
	for _, d := range got {
		if d.Trading {
			open = append(open, d.Date)
		}
	}
	want, err := cal.TradingDays(date("2024-09-25"), date("2024-10-15"))
	require.NoError(t, err)
	require.Equal(t, want, open)
}

func TestDroppedConnectionMidFrameIsAnError(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, baostocktest.Config{}, baostock.Config{})
	ctx := context.Background()
	q := baostock.KDataQuery{Code: "sh.600000", Start: date("2024-01-02"), End: date("2024-01-31")}
	for _, kind := range []baostocktest.FaultKind{baostocktest.DropMidFrame, baostocktest.CloseBeforeReply} {
		srv.Inject(baostocktest.Fault{Kind: kind, Type: baostock.TypeKData})
		err := within(t, func() error { _, err := c.HistoryKData(ctx, q); return err })
		require.Error(t, err)
		require.True(t, errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF), "%v", err)
	}
	_, err := c.HistoryKData(ctx, q)
	require.NoError(t, err, "the next call connects and logs in again")
	st := srv.Stats()
	require.Equal(t, 3, st.Connections)
	require.Equal(t, 3, st.Calls[baostock.TypeLogin])
}

// A reused connection the server closed while idle is replaced once, transparently.
func TestStaleConnectionIsReplacedOnce(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, baostocktest.Config{}, baostock.Config{})
	ctx := context.Background()
	_, err := c.TradeDates(ctx, date("2024-01-01"), date("2024-01-10"))
	require.NoError(t, err)
	srv.Inject(baostocktest.Fault{Kind: baostocktest.CloseBeforeReply})
	_, err = c.TradeDates(ctx, date("2024-01-01"), date("2024-01-10"))
	require.NoError(t, err)
	require.Equal(t, 2, srv.Stats().Connections)

	srv.Inject(baostocktest.Fault{Kind: baostocktest.CloseBeforeReply}, baostocktest.Fault{Kind: baostocktest.CloseBeforeReply})
	_, err = c.TradeDates(ctx, date("2024-01-01"), date("2024-01-10"))
	require.ErrorIs(t, err, io.EOF, "only once")
}

func TestGarbageIsAnError(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, baostocktest.Config{}, baostock.Config{})
	srv.Inject(baostocktest.Fault{Kind: baostocktest.Garbage, Type: baostock.TypeAllStock})
	err := within(t, func() error { _, err := c.AllStock(context.Background(), date("2024-01-02")); return err })
	require.ErrorIs(t, err, baostock.ErrMalformed)
	_, err = c.AllStock(context.Background(), date("2024-01-02"))
	require.NoError(t, err)
}

func TestSlowServerHitsTheDeadline(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, baostocktest.Config{}, baostock.Config{CallTimeout: 200 * time.Millisecond})
	srv.Inject(baostocktest.Fault{Kind: baostocktest.Stall, Type: baostock.TypeTradeDates}) // never answers
	err := within(t, func() error {
		_, err := c.TradeDates(context.Background(), date("2024-01-01"), date("2024-01-10"))
		return err
	})
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)

	slow, c2 := setup(t, baostocktest.Config{Latency: time.Second}, baostock.Config{CallTimeout: 100 * time.Millisecond})
	err = within(t, func() error { return c2.Login(context.Background()) })
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.Equal(t, 1, slow.Stats().Connections)
}

func TestCancelAbortsACallPromptly(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, baostocktest.Config{}, baostock.Config{})
	srv.Inject(baostocktest.Fault{Kind: baostocktest.Stall, Type: baostock.TypeKData})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err := within(t, func() error {
		_, err := c.HistoryKData(ctx, baostock.KDataQuery{Code: "sh.600000", Start: date("2024-01-02"), End: date("2024-01-05")})
		return err
	})
	require.ErrorIs(t, err, context.Canceled)

	// A call waiting for its turn gives up on its context too.
	srv.Inject(baostocktest.Fault{Kind: baostocktest.Stall, Type: baostock.TypeKData})
	go c.HistoryKData(context.Background(), baostock.KDataQuery{Code: "sh.600000", Start: date("2024-01-02"), End: date("2024-01-05")})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	err = within(t, func() error { _, err := c.TradeDates(ctx2, date("2024-01-01"), date("2024-01-02")); return err })
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestLogsInAgainOnceWhenTheSessionIsGone(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, baostocktest.Config{}, baostock.Config{})
	ctx := context.Background()
	_, err := c.TradeDates(ctx, date("2024-01-01"), date("2024-01-03"))
	require.NoError(t, err)
	srv.ExpireSessions()
	_, err = c.TradeDates(ctx, date("2024-01-01"), date("2024-01-03"))
	require.NoError(t, err)
	st := srv.Stats()
	require.Equal(t, 2, st.Calls[baostock.TypeLogin])
	require.Equal(t, 1, st.Connections)

	srv.Inject(baostocktest.Fault{Kind: baostocktest.NotLoggedIn}, baostocktest.Fault{Kind: baostocktest.NotLoggedIn})
	_, err = c.TradeDates(ctx, date("2024-01-01"), date("2024-01-03"))
	var e *baostock.Error
	require.ErrorAs(t, err, &e, "only once")
	require.Equal(t, baostock.CodeNotLoggedIn, e.Code)
	require.NotErrorIs(t, err, market.ErrSourceRefused)
}

func TestErrorRepliesCarryCodeAndMessage(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, baostocktest.Config{}, baostock.Config{})
	ctx := context.Background()
	srv.Inject(baostocktest.Fault{Kind: baostocktest.ErrorReply, Type: baostock.TypeKData, Code: baostock.CodeInvalidCode, Msg: "证券代码错误"})
	_, err := c.HistoryKData(ctx, baostock.KDataQuery{Code: "sh.600000", Start: date("2024-01-02"), End: date("2024-01-05")})
	var e *baostock.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, baostock.Error{Method: "query_history_k_data_plus", Code: "10004011", Msg: "证券代码错误"}, *e)
	require.NotErrorIs(t, err, market.ErrSourceRefused)

	srv.Inject(baostocktest.Fault{Kind: baostocktest.ErrorReply, Type: baostock.TypeLogin, Code: baostock.CodeBadCredentials, Msg: "用户名或密码错误"})
	err = c.Login(ctx)
	require.ErrorIs(t, err, market.ErrSourceRefused)
	require.NotContains(t, err.Error(), "123456", "no password in errors")

	_, err = c.HistoryKData(ctx, baostock.KDataQuery{Code: "600000.SH"})
	require.ErrorIs(t, err, market.ErrInvalidInput, "checked before sending")
}

func TestBlacklistRefusesWithBaostocksMessage(t *testing.T) {
	t.Parallel()
	srv, first := setup(t, baostocktest.Config{BlacklistAfter: 1, BlacklistAll: true}, baostock.Config{})
	ctx := context.Background()
	require.NoError(t, first.Login(ctx))
	second := baostock.New(&baostock.Config{Addr: srv.Addr()})
	defer second.Close()
	_, err := second.TradeDates(ctx, date("2024-01-01"), date("2024-01-03"))
	require.ErrorIs(t, err, market.ErrSourceRefused)
	require.ErrorContains(t, err, "10001011 黑名单用户，请与管理员联系")
	require.ErrorContains(t, err, "wait about a day")
	var e *baostock.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, baostock.CodeBlacklisted, e.Code)
	calls := srv.Stats().Calls[baostock.TypeTradeDates]
	_, err = second.TradeDates(ctx, date("2024-01-01"), date("2024-01-03"))
	require.ErrorContains(t, err, "10001011", "told again")
	require.Equal(t, calls, srv.Stats().Calls[baostock.TypeTradeDates], "without asking a server that would extend the ban")

	_, err = first.TradeDates(ctx, date("2024-01-01"), date("2024-01-03"))
	require.ErrorIs(t, err, market.ErrSourceRefused, "the whole address is blacklisted")
}

// Many goroutines share one client: one connection, one request at a time, and so no
// blacklist even from a server that blacklists a second connection.
func TestOneConnectionOneRequestAtATime(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, baostocktest.Config{BlacklistAfter: 1}, baostock.Config{PerPage: 10})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := range 8 {
		wg.Go(func() {
			_, err := c.TradeDates(ctx, date("2024-01-01"), date("2024-01-20"))
			errs <- err
			_, err = c.HistoryKData(ctx, baostock.KDataQuery{Code: "sh.600000", Start: date("2024-01-02"), End: date("2024-01-31")})
			errs <- err
			_, err = c.AdjustFactor(ctx, []string{"sh.600000", "sz.000001", "sh.601398"}[i%3], baostock.EarliestDate(), date("2024-12-31"))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st := srv.Stats()
	require.Equal(t, 1, st.Connections)
	require.Equal(t, 1, st.MaxOpen)
	require.Equal(t, 1, st.MaxInFlight)
	require.Equal(t, 1, st.Calls[baostock.TypeLogin])
}

func TestLogoutClosesAndTheNextCallLogsIn(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, baostocktest.Config{}, baostock.Config{})
	ctx := context.Background()
	require.NoError(t, c.Logout(ctx), "nothing to log out of")
	require.NoError(t, c.Login(ctx))
	require.NoError(t, c.Logout(ctx))
	_, err := c.TradeDates(ctx, date("2024-01-01"), date("2024-01-03"))
	require.NoError(t, err)
	st := srv.Stats()
	require.Equal(t, 1, st.Calls[baostock.TypeLogout])
	require.Equal(t, 2, st.Calls[baostock.TypeLogin])
	require.Equal(t, 2, st.Connections)
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"BAOSTOCK_ADDR": "127.0.0.1:1", "BAOSTOCK_VERSION": "00.9.40", "BAOSTOCK_TIMEOUT": "5s"}
	cfg, err := baostock.ConfigFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, baostock.Config{Addr: "127.0.0.1:1", Version: "00.9.40", CallTimeout: 5 * time.Second}, cfg)
	for k, v := range map[string]string{"BAOSTOCK_VERSION": "0.9.4", "BAOSTOCK_TIMEOUT": "soon"} {
		_, err := baostock.ConfigFromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		require.Error(t, err, k)
	}
}

// A caching fake answers as an uncaching one does, every time, and counts every call.
func TestCachingFakeAnswersTheSame(t *testing.T) {
	t.Parallel()
	_, plain := setup(t, baostocktest.Config{}, baostock.Config{})
	srv, cached := setup(t, baostocktest.Config{Cache: true}, baostock.Config{})
	q := baostock.KDataQuery{Code: "sh.600000", Start: date("2024-01-02"), End: date("2024-01-31")}
	want, err := plain.HistoryKData(context.Background(), q)
	require.NoError(t, err)
	for range 2 {
		got, err := cached.HistoryKData(context.Background(), q)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	require.Equal(t, 4, srv.Stats().Calls[baostock.TypeKData], "two pages, twice")
}
