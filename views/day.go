package views

import (
	"math"
	"net/url"
	"strconv"

	"github.com/marketsync/marketsync/internal/market"
)

// Query parameters of a day's page, its CSV and its API.
const (
	ParamSort  = "sort"
	ParamOrder = "order"
	ParamBoard = "board"
	// ParamPriceLimit keeps the stocks that closed limit-up (up) or limit-down (down).
	ParamPriceLimit = "price_limit"
)

// DayData is a trading day's page: one page of its stocks and the query that chose it.
type DayData struct {
	Market *market.DayMarket
	Query  market.DayQuery
	Page   int
}

// DayMissing is the page of a date without data in the warehouse.
type DayMissing struct {
	Date string
	// Closed says the exchanges did not trade that day; Outside that the calendar does
	// not know it.
	Closed, Outside bool
	// Prev and Next are the nearest days with data, "" when there is none.
	Prev, Next string
}

// DayURL is the page of a trading day's market.
func DayURL(date string) string { return "/days/" + date }

// DayCSVURL is the CSV of a day as q filters and orders it.
func DayCSVURL(q market.DayQuery) string {
	return dayLink(DayURL(q.Date.Format(market.DateLayout))+"/csv", q, 1)
}

// dayLink is path with q's filters, order and page in its query.
func dayLink(path string, q market.DayQuery, page int) string {
	v := url.Values{}
	if q.Sort != "" && q.Sort != "pct_chg" {
		v.Set(ParamSort, q.Sort)
	}
	if !q.Desc {
		v.Set(ParamOrder, "asc")
	}
	if q.Board != "" {
		v.Set(ParamBoard, q.Board)
	}
	if q.Hit != market.LimitNone {
		v.Set(ParamPriceLimit, string(q.Hit))
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// dayPageURL is page p of the day as q shows it.
func dayPageURL(q market.DayQuery, p int) string {
	return dayLink(DayURL(q.Date.Format(market.DateLayout)), q, p)
}

// daySortURL sorts by key: the other way round when already sorted by it, else codes
// ascending and numbers descending. It goes back to the first page.
func daySortURL(q market.DayQuery, key string) string {
	if q.Sort == key {
		q.Desc = !q.Desc
	} else {
		q.Sort, q.Desc = key, key != "code"
	}
	return dayPageURL(q, 1)
}

// daySortMark is the arrow of the sorted column, "" for the others.
func daySortMark(q market.DayQuery, key string) string {
	switch {
	case q.Sort != key:
		return ""
	case q.Desc:
		return "↓"
	}
	return "↑"
}

// dayAriaSort is the column's aria-sort.
func dayAriaSort(q market.DayQuery, key string) string {
	switch {
	case q.Sort != key:
		return "none"
	case q.Desc:
		return "descending"
	}
	return "ascending"
}

// dayBoardURL filters by board slug ("" every board), from the first page.
func dayBoardURL(q market.DayQuery, board string) string {
	q.Board = board
	return dayPageURL(q, 1)
}

// dayHitURL filters by limit hit, from the first page.
func dayHitURL(q market.DayQuery, hit market.LimitHit) string {
	q.Hit = hit
	return dayPageURL(q, 1)
}

// boardName is a board's name in loc's language, by slug.
func boardName(loc Locale, slug string) string { return loc.T("daypage.board_" + slug) }

// stockHref is the page of one stock.
func stockHref(tsCode string) string { return "/stocks/" + url.PathEscape(tsCode) }

// price writes a price in yuan to the fen, "—" when unknown.
func price(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v, 'f', 2, 64)
}

// ratio writes a percentage or a ratio with two decimals, "—" when unknown.
func ratio(v *float64) string { return price(v) }

// signedPct writes a change in percent with its sign.
func signedPct(v *float64) string {
	if v == nil {
		return "—"
	}
	s := strconv.FormatFloat(*v, 'f', 2, 64) + "%"
	if *v > 0 {
		s = "+" + s
	}
	return s
}

// changeTone colours a change: red up and green down, as Chinese markets show them.
func changeTone(v *float64) string {
	switch {
	case v == nil || *v == 0:
		return "text-slate-600"
	case *v > 0:
		return "text-rose-600"
	}
	return "text-emerald-600"
}

// whole writes a count or an amount with thousands separators, "—" when unknown.
func whole(loc Locale, v *float64) string {
	if v == nil {
		return "—"
	}
	return loc.Number(int64(math.Round(*v)))
}

// bigVolume writes a total volume (lots of 100 shares) in million shares, or 亿股 in
// Chinese.
func bigVolume(loc Locale, lots float64) string {
	if loc.Lang == LangZH {
		return loc.T("daypage.vol_big", hundredths(lots*100, 1e8))
	}
	return loc.T("daypage.vol_big", hundredths(lots*100, 1e6))
}

// bigAmount writes a total turnover (thousand yuan) in billion yuan, or 亿元 in Chinese.
func bigAmount(loc Locale, thousands float64) string {
	if loc.Lang == LangZH {
		return loc.T("daypage.amount_big", hundredths(thousands*1e3, 1e8))
	}
	return loc.T("daypage.amount_big", hundredths(thousands*1e3, 1e9))
}

// hundredths writes x in units of unit with two decimals, rounded half away from zero
// (x × 100 / unit first, so 855,000 in millions is 0.86, not 0.85).
func hundredths(x, unit float64) string {
	return strconv.FormatFloat(math.Round(x*100/unit)/100, 'f', 2, 64)
}

// dayShare is n's share of the filtered stocks, 0–100.
func dayShare(m *market.DayMarket, n int) float64 { return share(n, m.Total) }

// dayColumns are the sortable columns of a day's table: sort key and catalog key.
var dayColumns = []struct{ key, label string }{
	{"close", "daypage.col_close"}, {"pct_chg", "daypage.col_pct_chg"}, {"vol", "daypage.col_vol"},
	{"amount", "daypage.col_amount"}, {"turnover_rate", "daypage.col_turnover"}, {"pe_ttm", "daypage.col_pe"},
}

// limitNames are the limit filters with their catalog keys.
var limitNames = []struct {
	hit   market.LimitHit
	label string
}{
	{market.LimitNone, "daypage.all"}, {market.LimitUp, "daypage.limit_up"}, {market.LimitDown, "daypage.limit_down"},
}

// dayLoaded reports whether a batch's day has its data in the warehouse: loaded by the
// batch or already before it.
func dayLoaded(c market.DayCell) bool {
	return !c.Closed && (c.Status == market.DaySucceeded || c.Status == market.DaySkipped)
}
