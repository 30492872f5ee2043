package views

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

func TestDayPageRendersInBothLanguages(t *testing.T) {
	t.Parallel()
	pe, pct := 6.0, 10.05
	prev := "2025-09-30"
	m := &market.DayMarket{Date: "2025-10-09", Stocks: 120, Total: 60, Breadth: market.Breadth{Up: 30, Flat: 10, Down: 20, LimitUp: 3},
		Vol: 123_456_789, Amount: 987_654_321, Prev: &prev, Limit: 50, Offset: 50,
		Items: []market.DayRow{{TSCode: "600000.SH", Name: "浦发银行", Board: market.BoardMain, PctChg: &pct, PETTM: &pe, Limit: market.LimitUp}}}
	q, err := market.NewDayQuery(time.Date(2025, 10, 9, 0, 0, 0, 0, time.UTC), "amount", "asc", "main", "")
	require.NoError(t, err)
	for _, lang := range Langs() {
		loc := Locale{Lang: lang, Path: "/days/2025-10-09"}
		html := render(t, DayPage(loc, DayData{Market: m, Query: q, Page: 2}))
		for _, want := range []string{`href="/stocks/600000.SH"`, `href="/days/2025-09-30"`, `+10.05%`,
			`href="/days/2025-10-09/csv?board=main&amp;order=asc&amp;sort=amount"`,
			`href="/days/2025-10-09?board=main&amp;sort=amount"`,               // sorted by amount: the header turns it round
			`href="/days/2025-10-09?board=main&amp;order=asc&amp;sort=amount"`, // page 1 of the pager
			`aria-sort="ascending"`, T(lang, "daypage.board_chinext"), T(lang, "daypage.limit_up")} {
			require.Contains(t, html, want, lang)
		}
		require.NotContains(t, html, `data-testid="day-next"`)
		require.NotContains(t, html, "daypage.", "every key is in the catalog")
	}
	for _, slug := range market.BoardSlugs() {
		require.True(t, HasKey("daypage.board_"+slug), slug)
	}
	html := render(t, DayPage(Locale{Lang: LangZH}, DayData{Market: m, Query: q, Page: 2}))
	require.Contains(t, html, "123.46 亿股", "123,456,789 lots of 100 shares")
	require.Contains(t, html, "9876.54 亿元", "987,654,321 thousand yuan")
}

func TestDayMissingPageSaysWhy(t *testing.T) {
	t.Parallel()
	loc := Locale{Lang: LangEN}
	html := render(t, DayMissingPage(loc, DayMissing{Date: "2025-10-01", Closed: true, Prev: "2025-09-30", Next: "2025-10-09"}))
	require.Contains(t, html, "2025-10-01 is not a trading day")
	require.Contains(t, html, `href="/days/2025-09-30"`)
	require.Contains(t, html, `href="/days/2025-10-09"`)
	html = render(t, DayMissingPage(loc, DayMissing{Date: "2025-10-13"}))
	require.Contains(t, html, "is a trading day, but its daily data is not loaded yet")
	require.NotContains(t, html, `data-testid="day-prev"`)
}

func TestLoadedDaysLinkToTheirMarket(t *testing.T) {
	t.Parallel()
	loc := Locale{Lang: LangEN}
	run := sample(t, "2025-10-01", "2025-10-20", market.BatchRunning)
	html := render(t, BatchPage(loc, run))
	for _, c := range run.Days {
		link := `href="/days/` + c.Date + `"`
		if c.Status == market.DaySucceeded {
			require.Contains(t, html, link, c.Date)
		} else {
			require.NotContains(t, html, link, c.Date)
		}
	}
	// A pushed cell keeps its id and attributes, the link inside.
	cell := render(t, BatchUpdate(loc, run, []market.DayCell{run.Days[1]}, false))
	require.Regexp(t, `<span id="cell-daily-2025-10-02" class="cell cell-succeeded"[^>]*data-status="succeeded" hx-swap-oob="true"><a href="/days/2025-10-02"`, cell)

	cov := market.Coverage{Dataset: "daily", Start: "2025-01-01", End: "2025-01-31", Loaded: 1,
		Days: []market.CoverageDay{{Date: "2025-01-02", Status: "loaded", Rows: 5300}, {Date: "2025-01-03", Status: "missing"}}}
	html = render(t, CoveragePage(loc, CoverageData{Dataset: "daily", Year: 2025, Years: []int{2025}, Coverage: []market.Coverage{cov}}))
	require.Contains(t, html, `href="/days/2025-01-02"`)
	require.NotContains(t, html, `href="/days/2025-01-03"`)
	require.Contains(t, html, `<input type="checkbox" name="days" value="2025-01-03"`, "missing days are still ticked for a sync")
	require.Equal(t, 1, strings.Count(html, `href="/days/`))
}
