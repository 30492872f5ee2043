package handlers_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/handlers"
	"github.com/marketsync/marketsync/internal/app"
	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/store"
)

var _ handlers.DayMarkets = store.DayMarkets{}

// dayEnv is the app over pgtest.DayMarketFixture.
func dayEnv(t *testing.T) *env {
	t.Helper()
	e := setup(t, options{})
	_, err := e.pool.Exec(context.Background(), pgtest.DayMarketFixture)
	require.NoError(t, err)
	return e
}

var rowCodeRe = regexp.MustCompile(`<tr data-code="([^"]+)"`)

func pageCodes(body string) []string {
	var out []string
	for _, m := range rowCodeRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func testid(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`data-testid="` + id + `">([^<]*)<`).FindStringSubmatch(body)
	require.NotNil(t, m, id)
	return m[1]
}

func TestDayPageShowsTheFilteredDay(t *testing.T) {
	t.Parallel()
	e := dayEnv(t)
	r := e.do(t, "GET", "/days/2025-10-09", nil)
	require.Equal(t, 200, r.status, r.body)
	require.Equal(t, []string{"920001.BJ", "600000.SH", "300001.SZ", "300002.SZ", "000001.SZ", "000002.SZ", "600001.SH", "688001.SH"}, pageCodes(r.body))
	for id, want := range map[string]string{"breadth-up": "4", "breadth-flat": "1", "breadth-down": "3",
		"breadth-limit-up": "2", "breadth-limit-down": "2", "total-vol": "0.86 M shares", "total-amount": "¥0.01 bn"} {
		require.Equal(t, want, testid(t, r.body, id), id)
	}
	require.Contains(t, r.body, `href="/stocks/600000.SH"`)
	require.Contains(t, r.body, `href="/days/2025-09-30"`)
	require.Contains(t, r.body, `href="/days/2025-10-10"`)
	require.Contains(t, r.body, `href="/days/2025-10-09/csv"`)

	r = e.do(t, "GET", "/days/2025-10-09?board=main&sort=code&order=asc", nil, "Accept-Language", "zh-CN")
	require.Equal(t, 200, r.status)
	require.Equal(t, []string{"000001.SZ", "000002.SZ", "600000.SH", "600001.SH"}, pageCodes(r.body))
	require.Equal(t, "1", testid(t, r.body, "breadth-up"))
	require.Equal(t, "2", testid(t, r.body, "breadth-down"))
	require.Equal(t, "0.01 亿股", testid(t, r.body, "total-vol"), "6,900 lots of 100 shares")
	require.Equal(t, "0.08 亿元", testid(t, r.body, "total-amount"), "7,843 thousand yuan")
	require.Contains(t, r.body, `href="/days/2025-10-09/csv?board=main&amp;order=asc&amp;sort=code"`)

	r = e.do(t, "GET", "/days/2025-10-09?price_limit=down&sort=pe_ttm&order=desc", nil)
	require.Equal(t, []string{"688001.SH", "600001.SH"}, pageCodes(r.body), "null PE sorts last")

	for _, bad := range []string{"?sort=name", "?order=up", "?board=nyse", "?price_limit=half", "?page=0"} {
		require.Equal(t, 400, e.do(t, "GET", "/days/2025-10-09"+bad, nil).status, bad)
	}
	require.Equal(t, 400, e.do(t, "GET", "/days/20251009", nil).status)
}

func TestDayPagePagesFiftyAtATime(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	_, err := e.pool.Exec(context.Background(), `INSERT INTO daily_bar (ts_code, trade_date, close, pre_close, pct_chg, vol, amount)
		SELECT lpad(i::text, 6, '0') || '.SZ', '2025-11-03', 10, 10, 0, i, 10 * i FROM generate_series(1, 120) i`)
	require.NoError(t, err)
	r := e.do(t, "GET", "/days/2025-11-03?sort=vol&page=3", nil)
	require.Equal(t, 200, r.status)
	codes := pageCodes(r.body)
	require.Len(t, codes, 20)
	require.Equal(t, "000020.SZ", codes[0], "vol descending: 120 … 1, page 3 starts at 20")
	require.Equal(t, "000001.SZ", codes[19])
	require.Equal(t, "120", testid(t, r.body, "breadth-flat"), "the breadth counts the whole day")
	require.Contains(t, r.body, `href="/days/2025-11-03?page=2&amp;sort=vol"`)
}

func TestDayPageWithoutDataLinksTheNearestDays(t *testing.T) {
	t.Parallel()
	e := dayEnv(t)
	r := e.do(t, "GET", "/days/2025-10-01", nil)
	require.Equal(t, 404, r.status)
	require.Contains(t, testid(t, r.body, "missing-reason"), "not a trading day")
	require.Contains(t, r.body, `href="/days/2025-09-30"`)
	require.Contains(t, r.body, `href="/days/2025-10-09"`)

	r = e.do(t, "GET", "/days/2025-10-13", nil, "Accept-Language", "zh-CN")
	require.Equal(t, 404, r.status)
	require.Contains(t, testid(t, r.body, "missing-reason"), "是交易日，但日线数据尚未加载")
	require.Contains(t, r.body, `href="/days/2025-10-10"`)
	require.NotContains(t, r.body, `data-testid="day-next"`)
}

// dayAnswer is the API's envelope around a day.
type dayAnswer struct {
	Status string           `json:"status"`
	Data   market.DayMarket `json:"data"`
}

func TestAPIDay(t *testing.T) {
	t.Parallel()
	e := dayEnv(t)
	r := e.do(t, "GET", "/api/v1/days/2025-10-09?limit=3&offset=3&sort=code&order=asc", nil)
	require.Equal(t, 200, r.status, r.body)
	var a dayAnswer
	require.NoError(t, json.Unmarshal([]byte(r.body), &a))
	d := a.Data
	require.Equal(t, "success", a.Status)
	require.Equal(t, []string{"300002.SZ", "600000.SH", "600001.SH"}, []string{d.Items[0].TSCode, d.Items[1].TSCode, d.Items[2].TSCode})
	require.Len(t, d.Items, 3)
	require.Equal(t, market.Breadth{Up: 4, Flat: 1, Down: 3, LimitUp: 2, LimitDown: 2}, d.Breadth)
	require.Equal(t, []any{8, 8, 8550.0, 10023.0, 3, 3, "2025-09-30", "2025-10-10"},
		[]any{d.Stocks, d.Total, d.Vol, d.Amount, d.Limit, d.Offset, *d.Prev, *d.Next})
	require.Equal(t, market.LimitUp, d.Items[1].Limit)
	require.Contains(t, r.body, `"pe_ttm":null`, "600001.SH has no PE")

	r = e.do(t, "GET", "/api/v1/days/2025-10-09?board=main&price_limit=up", nil)
	require.Equal(t, 200, r.status)
	a = dayAnswer{}
	require.NoError(t, json.Unmarshal([]byte(r.body), &a))
	require.Equal(t, 1, a.Data.Total)
	require.Equal(t, "600000.SH", a.Data.Items[0].TSCode)
	require.Equal(t, 1000.0, a.Data.Vol)

	r = e.do(t, "GET", "/api/v1/days/2025-10-01", nil)
	require.Equal(t, 404, r.status)
	require.Contains(t, r.body, `"status":"error"`)
	require.Contains(t, r.body, "no data for 2025-10-01")
	for _, bad := range []string{"?sort=name", "?order=sideways", "?board=x", "?price_limit=1", "?limit=0", "?offset=-1"} {
		r := e.do(t, "GET", "/api/v1/days/2025-10-09"+bad, nil)
		require.Contains(t, []int{400, 422}, r.status, bad)
		require.Contains(t, r.body, `"status":"error"`, bad)
	}
	require.Equal(t, 400, e.do(t, "GET", "/api/v1/days/2025-10-09?sort=name", nil).status)
}

func TestDayCSV(t *testing.T) {
	t.Parallel()
	e := dayEnv(t)
	r := e.do(t, "GET", "/days/2025-10-09/csv?board=chinext&sort=code&order=asc", nil)
	require.Equal(t, 200, r.status, r.body)
	require.Equal(t, "text/csv; charset=utf-8", r.header.Get("Content-Type"))
	require.Equal(t, `attachment; filename="marketsync-2025-10-09.csv"`, r.header.Get("Content-Disposition"))
	recs, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, store.DayCSVColumns, recs[0])
	require.Len(t, recs, 3)
	require.Equal(t, []string{"2025-10-09", "300001.SZ", "特锐德", "创业板", "20", "22", "20", "22", "20", "2", "10", "300", "660", "3", "40", ""}, recs[1])
	require.Equal(t, "300002.SZ", recs[2][1])

	require.Equal(t, 404, e.do(t, "GET", "/days/2025-10-01/csv", nil).status)
	require.Equal(t, 400, e.do(t, "GET", "/days/2025-10-09/csv?sort=name", nil).status)
}

// TestDayCSVStreams shows that the CSV leaves as PostgreSQL sends it: the client reads
// the first rows while the COPY is still running, blocked on writing to the server (which
// waits for the client, which stops reading). A CSV built in memory first would have
// finished its COPY before the first byte went out.
func TestDayCSVStreams(t *testing.T) {
	t.Parallel()
	const rows = 200_000 // some 11 MB of CSV, far more than the socket buffers hold
	url, pool := streamingApp(t)
	_, err := pool.Exec(context.Background(), fmt.Sprintf(`INSERT INTO daily_bar (ts_code, trade_date, close, pre_close, pct_chg, vol, amount)
		SELECT lpad(i::text, 6, '0') || '.SZ', '2025-11-03', 10.5, 10, 5, 1000, 10500 FROM generate_series(1, %d) i`, rows))
	require.NoError(t, err)

	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Control: smallReceiveBuffer}).DialContext}}
	resp, err := client.Get(url + "/days/2025-11-03/csv?sort=code&order=asc")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	body := bufio.NewReaderSize(resp.Body, 256)
	header, err := body.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(header, "trade_date,ts_code,"))
	first, err := body.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(first, "2025-11-03,000001.SZ,"), first)

	// The client has its first row: the COPY is still there, waiting to write.
	var waiting bool
	for deadline := time.Now().Add(time.Minute); !waiting && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		require.NoError(t, pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'active' AND query LIKE 'COPY (SELECT%' AND wait_event = 'ClientWrite')`).Scan(&waiting))
	}
	if !waiting {
		rows, _ := pool.Query(context.Background(), `SELECT coalesce(state, ''), coalesce(wait_event, ''), left(query, 40) FROM pg_stat_activity WHERE datname = current_database()`)
		for rows.Next() {
			var st, we, q string
			_ = rows.Scan(&st, &we, &q)
			t.Log(st, we, q)
		}
	}
	require.True(t, waiting, "the COPY is running, blocked on a client that has not read the rest")

	n := 2
	for s := bufio.NewScanner(body); s.Scan(); n++ {
	}
	require.Equal(t, rows+1, n, "the header and every row")
}

// streamingApp serves the app on a real listener, over a pool whose connections keep
// small receive buffers (as the test's client does), and returns its URL and the pool.
func streamingApp(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDB(t))
	require.NoError(t, err)
	cfg.ConnConfig.DialFunc = (&net.Dialer{Control: smallReceiveBuffer}).DialContext
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := smallSendListener{tcp}
	a, err := app.New(context.Background(), &app.Config{Pool: pool, Listener: ln, Auth: auth.Config{Anonymous: market.RoleViewer}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		a.Close()
	})
	return "http://" + ln.Addr().String(), pool
}

// smallSendListener fixes the send buffer of the connections it accepts at 16 KiB.
type smallSendListener struct{ net.Listener }

func (l smallSendListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		err = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// smallReceiveBuffer fixes a socket's receive buffer at 16 KiB (no autotuning).
func smallReceiveBuffer(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10) })
	if err != nil {
		return err
	}
	return serr
}
