package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

// dividendStock loads by hand a week of 600998.SH whose factor steps from 1.0 to 1.25 on
// 2024-06-04, suspended on 06-05, with its stock_basic row.
func (e *env) dividendStock(t *testing.T) {
	t.Helper()
	for _, sql := range []string{
		`INSERT INTO daily_bar (ts_code, trade_date, open, high, low, close, pre_close, change, pct_chg, vol, amount) VALUES
			('600998.SH', '2024-06-03', 10, 11, 9, 10, 10, 0, 0, 100, 1000),
			('600998.SH', '2024-06-04', 8, 8.5, 7.5, 8, 10, -2, -20, 100, 800),
			('600998.SH', '2024-06-06', 8.2, 8.4, 8, 8.4, 8, 0.4, 5, 100, 840)`,
		`INSERT INTO adj_factor (ts_code, trade_date, adj_factor) VALUES
			('600998.SH', '2024-06-03', 1.0), ('600998.SH', '2024-06-04', 1.25),
			('600998.SH', '2024-06-05', 1.25), ('600998.SH', '2024-06-06', 1.25)`,
		`INSERT INTO coverage (dataset, day, rows) SELECT 'daily', d::date, 1 FROM generate_series('2024-06-03'::date, '2024-06-06', '1 day') d
			ON CONFLICT DO NOTHING`,
		`INSERT INTO stock_basic (ts_code, symbol, name, cnspell, industry, market, exchange, list_status, list_date) VALUES
			('600998.SH', '600998', '九州通', 'jzt', '医药商业', '主板', 'SSE', 'L', '2010-11-02')`,
	} {
		_, err := e.pool.Exec(context.Background(), sql)
		require.NoError(t, err, sql)
	}
}

func TestStockSearchAndPage(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.dividendStock(t)

	r := e.do(t, "GET", "/stocks/search?q=JZ", nil, "HX-Request", "true")
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, `href="/stocks/600998.SH"`)
	require.NotContains(t, r.body, "<html", "htmx gets the list alone")
	r = e.do(t, "GET", "/stocks/search?q=%E4%B9%9D%E5%B7%9E", nil, "Cookie", "lang=zh") // 九州
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, "<html", "without htmx, a page")
	require.Contains(t, r.body, `href="/stocks/600998.SH"`)
	r = e.do(t, "GET", "/stocks/search?q=zzzz", nil, "HX-Request", "true")
	require.Contains(t, r.body, "zzzz")
	require.NotContains(t, r.body, "/stocks/6")

	r = e.do(t, "GET", "/stocks/600998.SH", nil, "Cookie", "lang=zh")
	require.Equal(t, 200, r.status, r.body)
	for _, want := range []string{"九州通", "医药商业", "主板", "2010-11-02", `id="stock-chart"`, `data-chart-url="/stocks/600998.SH/chart"`,
		"/static/js/lightweight-charts.standalone.production.js", "/static/js/stock.js", "前复权", `id="stock-q"`} {
		require.Contains(t, r.body, want)
	}
	require.Equal(t, 200, e.do(t, "GET", "/stocks/600998.sh", nil).status, "the suffix in either case")
	require.Equal(t, 404, e.do(t, "GET", "/stocks/600000.SH", nil).status)
	require.Equal(t, 422, e.do(t, "GET", "/stocks/abc", nil).status)
}

func TestStockChartJSON(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.dividendStock(t)
	r := e.do(t, "GET", "/stocks/600998.SH/chart?adj=qfq", nil)
	require.Equal(t, 200, r.status, r.body)
	var ch market.Chart
	require.NoError(t, json.Unmarshal([]byte(r.body), &ch))
	require.Equal(t, []string{"2024-06-03", "2024-06-04", "2024-06-06"}, ch.Dates)
	require.InDeltaSlice(t, []float64{8, 8, 8.4}, ch.Close, 1e-9)
	require.Equal(t, []string{"2024-06-05"}, ch.Suspended)
	require.Len(t, ch.FactorChanges, 1)
	require.Equal(t, 422, e.do(t, "GET", "/stocks/600998.SH/chart?adj=xfq", nil).status)
}

// TestBarsAPI checks the JSON API's adjusted prices against values worked out by hand,
// and its answers to bad input.
func TestBarsAPI(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.dividendStock(t)
	closes := func(adj string) map[string]float64 {
		r := e.do(t, "GET", "/api/v1/bars?ts_code=600998.SH&start=2024-06-01&end=2024-06-30&adj="+adj, nil)
		require.Equal(t, 200, r.status, r.body)
		var s market.BarSeries
		require.NoError(t, json.Unmarshal(r.json(t).Data, &s))
		require.Equal(t, "九州通", s.Name)
		out := map[string]float64{}
		for _, b := range s.Bars {
			out[b.Date] = b.Close
		}
		return out
	}
	require.Equal(t, map[string]float64{"2024-06-03": 10, "2024-06-04": 8, "2024-06-06": 8.4}, closes("raw"))
	// hfq = raw × factor; qfq = raw × factor ÷ 1.25 (the latest factor).
	require.InDeltaMapValues(t, map[string]float64{"2024-06-03": 10, "2024-06-04": 10, "2024-06-06": 10.5}, closes("hfq"), 1e-9)
	require.InDeltaMapValues(t, map[string]float64{"2024-06-03": 8, "2024-06-04": 8, "2024-06-06": 8.4}, closes("qfq"), 1e-9)

	for query, want := range map[string]int{
		"ts_code=600998.SH&adj=xfq":                                 422,
		"ts_code=600998.SH&start=2024-13-01":                        422,
		"ts_code=600998.SH&start=2024-06-05&end=2024-06-01":         422,
		"ts_code=600998":                                            422,
		"ts_code=60099.SH":                                          422,
		"ts_code=":                                                  400,
		"ts_code=600000.SH":                                         404,
		"ts_code=600998.SH&start=2024-06-05&end=2024-06-05":         200,
		"ts_code=600998.sh&adj=QFQ&start=2024-06-04&end=2024-06-04": 200,
	} {
		r := e.do(t, "GET", "/api/v1/bars?"+query, nil)
		require.Equal(t, want, r.status, "%s: %s", query, r.body)
		if want != 200 {
			require.NotEmpty(t, r.json(t).Message, query)
		}
	}
	r := e.do(t, "GET", "/api/v1/bars?ts_code=600998.SH&start=2024-06-05&end=2024-06-01", nil)
	require.Contains(t, r.json(t).Message, "start 2024-06-05 is after end 2024-06-01")
	r = e.do(t, "GET", "/api/v1/bars.csv?ts_code=600998.SH&adj=hfq&end=2024-06-04", nil)
	require.Equal(t, 200, r.status, r.body)
	require.Equal(t, "text/csv; charset=utf-8", r.header.Get("Content-Type"))
	require.Contains(t, r.header.Get("Content-Disposition"), `filename="600998.SH_1990-01-01_2024-06-04_hfq.csv"`)
	require.Equal(t, "ts_code,trade_date,open,high,low,close,pre_close,change,pct_chg,vol,amount,adj_factor\n"+
		"600998.SH,2024-06-03,10,11,9,10,10,0,0,100,1000,1\n"+
		"600998.SH,2024-06-04,10,10.625,9.375,10,12.5,-2.5,-20,100,800,1.25\n", r.body)
	require.Equal(t, 404, e.do(t, "GET", "/api/v1/bars.csv?ts_code=600000.SH", nil).status)
}

// TestBarsCSVStreams reads the first line of a large export from a real HTTP listener
// while PostgreSQL is still producing the rest: the answer is streamed from COPY, not
// built in memory first. The export (some 40 MB) is far larger than the sockets'
// buffers, and the client reads no more than its first line, so the COPY cannot finish
// before the client lets go.
func TestBarsCSVStreams(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := context.Background()
	_, err := e.pool.Exec(ctx, `
		INSERT INTO stock_basic (ts_code, symbol, name, list_status) VALUES ('600997.SH', '600997', '开滦股份', 'L');
		INSERT INTO daily_bar (ts_code, trade_date, open, high, low, close, pre_close, change, pct_chg, vol, amount)
		SELECT '600997.SH', d, random() * 100, random() * 100, random() * 100, random() * 100, random() * 100,
			random(), random(), random() * 1e6, random() * 1e6
		FROM generate_series('1200-01-01'::date, '2025-12-31', '1 day') d`)
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = e.app.Listener(ln) }()
	t.Cleanup(func() { ln.Close() })

	// A small receive buffer keeps the client's side of the pipe small.
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10) })
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableCompression: true}}
	resp, err := client.Get("http://" + ln.Addr().String() + "/api/v1/bars.csv?ts_code=600997.SH&start=1200-01-01")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	br := bufio.NewReader(resp.Body)
	header, err := br.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(header, "ts_code,trade_date,open"), header)
	first, err := br.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(first, "600997.SH,1200-01-01,"), first)

	var running int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state = 'active' AND query LIKE 'COPY (%600997.SH%'`).Scan(&running))
	require.Equal(t, 1, running, "the first rows arrived while the COPY is still running")
}
