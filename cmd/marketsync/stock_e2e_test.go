package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/pgtest"
)

// runCommand runs the marketsync command (this test binary as main) with args on
// database db, and fails the test unless it succeeds.
func runCommand(t *testing.T, db string, args ...string) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), serveEnv+"=1", "DATABASE_URL="+db, "MARKETSYNC_LOG_FORMAT=json", "MARKETSYNC_SCHEDULE=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "marketsync %s:\n%s", strings.Join(args, " "), out)
}

// TestBrowserFindsAStockAndAdjustsItsChart loads a few months of the demo market with
// `sync`, then in Chromium types a stock's pinyin initials into the header's search,
// opens it from the list, and switches its chart to forward-adjusted prices.
func TestBrowserFindsAStockAndAdjustsItsChart(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	runCommand(t, db, "stocks", "refresh")
	runCommand(t, db, "sync", "--start", "2024-04-01", "--end", "2024-08-30", "--dataset", "daily,adj_factor,daily_basic")

	// A listed stock whose factor changed in those months (a dividend), so qfq differs
	// from raw on its first days.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	require.NoError(t, err)
	var code, initials string
	err = conn.QueryRow(ctx, `
		SELECT s.ts_code, s.cnspell FROM stock_basic s
		WHERE s.list_status = 'L' AND length(s.cnspell) >= 3
			AND (SELECT count(DISTINCT adj_factor) FROM adj_factor f WHERE f.ts_code = s.ts_code
				AND f.trade_date BETWEEN '2024-04-01' AND '2024-08-30') > 1
		ORDER BY s.ts_code LIMIT 1`).Scan(&code, &initials)
	conn.Close(ctx)
	require.NoError(t, err, "a stock with a dividend in the months loaded")
	t.Logf("looking for %s by %q", code, initials)

	// The browser's time runs from here: loading the months above takes long on a busy
	// machine.
	tab := newBrowser(t)
	srv := startServer(t, db, "web", "--workers", "0")
	require.NoError(t, chromedp.Run(tab,
		chromedp.Navigate(srv.url("/")),
		chromedp.WaitVisible(`#stock-q`, chromedp.ByQuery),
		chromedp.SendKeys(`#stock-q`, initials, chromedp.ByQuery),
	))
	result := fmt.Sprintf(`#stock-search-results a[data-stock-result=%q]`, code)
	// Each keystroke asks again: wait for the answer to the whole word, then follow the
	// link in one step (a later answer could replace a node found before a click).
	waitFor(t, tab, 15*time.Second, "the stock in the search results",
		`document.getElementById("stock-q").value === `+quoteJS(initials)+
			` && !document.getElementById("stock-q").classList.contains("htmx-request") && document.querySelector(`+quoteJS(result)+`)`,
		`document.getElementById("stock-search-results").innerText`)
	eval(t, tab, `document.querySelector(`+quoteJS(result)+`).click()`, nil)

	const describe = `location.pathname + " | " + JSON.stringify(document.getElementById("stock-chart") && document.getElementById("stock-chart").dataset) + " | " + (document.querySelector(".chart-note") || {}).textContent`
	waitFor(t, tab, 20*time.Second, "the raw chart drawn",
		`location.pathname === "/stocks/`+code+`" && document.getElementById("stock-chart")?.dataset.shownAdj === "raw"`, describe)
	var raw struct {
		Bars, First string
		Canvases    int
	}
	eval(t, tab, `(() => { const d = document.getElementById("stock-chart").dataset;
		return {Bars: d.bars, First: d.firstClose, Canvases: document.querySelectorAll("#stock-chart canvas").length}; })()`, &raw)
	require.NotEqual(t, "0", raw.Bars, "the chart has bars")
	require.Positive(t, raw.Canvases, "lightweight-charts drew")

	require.NoError(t, chromedp.Run(tab, chromedp.Click(`button[data-adj=qfq]`, chromedp.ByQuery)))
	waitFor(t, tab, 20*time.Second, "the qfq chart drawn",
		`document.getElementById("stock-chart").dataset.shownAdj === "qfq"`, describe)
	var qfqFirst, checked string
	eval(t, tab, `document.getElementById("stock-chart").dataset.firstClose`, &qfqFirst)
	eval(t, tab, `document.querySelector("button[data-adj=qfq]").getAttribute("aria-checked")`, &checked)
	require.Equal(t, "true", checked)
	require.NotEqual(t, raw.First, qfqFirst, "forward-adjusted prices differ from raw ones before the dividend")
	var legend string
	eval(t, tab, `document.getElementById("stock-legend").textContent`, &legend)
	require.Contains(t, legend, "2024-08-30", "the legend shows the latest day")
}

// quoteJS is s as a JavaScript string literal.
func quoteJS(s string) string { return fmt.Sprintf("%q", s) }
