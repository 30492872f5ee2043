package tushare_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/tushare"
)

// scripted is a server answering each call with the next of bodies (the last one again
// when they run out), for answers the fake never gives.
func scripted(t *testing.T, bodies ...string) *tushare.Source {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		b := bodies[min(n, len(bodies)-1)]
		n++
		mu.Unlock()
		w.Write([]byte(b))
	}))
	t.Cleanup(srv.Close)
	src, err := tushare.New(nil, &tushare.Config{Token: "scripted-token", URL: srv.URL,
		PageSizes: map[string]int{"daily": 2}})
	require.NoError(t, err)
	return src
}

func TestProtocolEdges(t *testing.T) {
	t.Parallel()
	const fields = `"fields":["trade_date","ts_code","open","high","low","close","pre_close","change","pct_chg","vol","amount"]`
	row := func(code, day string) string {
		return `["` + day + `","` + code + `",1,2,0.5,1.5,1,0.5,50,100,null]`
	}
	for _, tc := range []struct {
		name   string
		bodies []string
		err    string // "" for success
		rows   int
	}{
		{"no code, no request_id, no has_more", []string{`{"data":{` + fields + `,"items":[` + row("000001.SZ", "20250303") + `]}}`}, "", 1},
		{"code as a string", []string{`{"code":"0","msg":"","data":{` + fields + `,"items":[]}}`}, "", 0},
		{"a full page, has_more false, then an empty one", []string{
			`{"code":0,"data":{` + fields + `,"items":[` + row("000001.SZ", "20250303") + `,` + row("000002.SZ", "20250303") + `],"has_more":false}}`,
			`{"code":0,"data":{` + fields + `,"items":[],"has_more":false}}`}, "", 2},
		{"has_more on an empty page", []string{`{"code":0,"data":{` + fields + `,"items":[],"has_more":true}}`}, "has_more is true on an empty page", 0},
		{"a row of another day", []string{`{"code":0,"data":{` + fields + `,"items":[` + row("000001.SZ", "20250304") + `]}}`}, "a row of 2025-03-04", 0},
		{"a field missing", []string{`{"code":0,"data":{"fields":["ts_code"],"items":[["000001.SZ"]]}}`}, "lacks field trade_date", 0},
		{"a short row", []string{`{"code":0,"data":{` + fields + `,"items":[["20250303"]]}}`}, "a row of 1 values for 11 fields", 0},
		{"a number that is not", []string{`{"code":0,"data":{` + fields + `,"items":[["20250303","000001.SZ","x",2,0.5,1.5,1,0.5,50,100,1]]}}`}, "field open", 0},
		{"no data", []string{`{"code":0,"msg":""}`}, "malformed answer", 0},
		{"an error with message only", []string{`{"code":40203,"message":"抱歉，您每天最多访问该接口1次","data":null}`}, "每天最多访问", 0},
		{"not JSON", []string{`<html>gateway</html>`}, "malformed answer", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs, err := scripted(t, tc.bodies...).Fetch(context.Background(), dataset(t, "daily"), date("2025-03-03"))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			rows := collect(t, rs)
			require.Len(t, rows, tc.rows)
			if tc.rows > 0 {
				require.Equal(t, "000001.SZ", rows[0][0], "by name, not by position")
				require.Equal(t, date("2025-03-03"), rows[0][1])
				require.Nil(t, rows[0][10])
			}
		})
	}
}

func TestStockBasicToleratesMissingDescriptiveFields(t *testing.T) {
	t.Parallel()
	// Every status answers the same stock: it is listed once.
	src := scripted(t, `{"code":0,"data":{"fields":["name","ts_code","list_date"],"items":[["平安银行","000001.SZ","19910403"]]}}`)
	rs, err := src.StockBasic(context.Background())
	require.NoError(t, err)
	rows := collect(t, rs)
	require.Len(t, rows, 1)
	cols := market.StockBasic().ColumnNames()
	require.Len(t, rows[0], len(cols))
	for i, c := range cols {
		switch c {
		case "ts_code":
			require.Equal(t, "000001.SZ", rows[0][i])
		case "name":
			require.Equal(t, "平安银行", rows[0][i])
		case "list_date":
			require.Equal(t, date("1991-04-03"), rows[0][i])
		default:
			require.Nil(t, rows[0][i], c)
		}
	}

	src = scripted(t, `{"code":0,"data":{"fields":["name"],"items":[["平安银行"]]}}`)
	_, err = src.StockBasic(context.Background())
	require.ErrorContains(t, err, "lacks field ts_code")
}

func TestConnectionErrorsAreTransientAndQuiet(t *testing.T) {
	t.Parallel()
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL
	gone.Close()
	const token = "connection-token-1234"
	src, err := tushare.New(nil, &tushare.Config{Token: token, URL: url + "/?token=" + token})
	require.NoError(t, err)
	_, err = src.Fetch(context.Background(), dataset(t, "daily"), date("2025-03-03"))
	require.ErrorContains(t, err, "connect")
	require.NotContains(t, err.Error(), token)
	require.NotContains(t, err.Error(), url, "net/http's URL is left out")
	for _, sentinel := range []error{market.ErrSourceRefused, market.ErrQuotaExhausted, market.ErrDatasetRefused} {
		require.NotErrorIs(t, err, sentinel)
	}
}
