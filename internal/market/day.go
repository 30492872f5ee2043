package market

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Boards as stock_basic.market names them.
const (
	BoardMain    = "主板"
	BoardChiNext = "创业板"
	BoardSTAR    = "科创板"
	BoardBSE     = "北交所"
)

// boardSlugs are the boards' names in URLs and the API, in the order pages list them.
var boardSlugs = []struct{ slug, board string }{
	{"main", BoardMain}, {"chinext", BoardChiNext}, {"star", BoardSTAR}, {"bse", BoardBSE},
}

// BoardSlugs lists the boards' URL names: main, chinext, star, bse.
func BoardSlugs() []string {
	out := make([]string, len(boardSlugs))
	for i, b := range boardSlugs {
		out[i] = b.slug
	}
	return out
}

// BoardOfSlug is the board (stock_basic.market) a URL name stands for.
func BoardOfSlug(slug string) (string, bool) {
	for _, b := range boardSlugs {
		if b.slug == slug {
			return b.board, true
		}
	}
	return "", false
}

// BoardOfCode guesses the board from a Tushare code, for stocks stock_basic does not
// list: .BJ is Beijing, 300/301 ChiNext, 688/689 STAR, the rest the main board.
func BoardOfCode(tsCode string) string {
	switch {
	case strings.HasSuffix(tsCode, ".BJ"):
		return BoardBSE
	case strings.HasSuffix(tsCode, ".SZ") && (strings.HasPrefix(tsCode, "300") || strings.HasPrefix(tsCode, "301")):
		return BoardChiNext
	case strings.HasSuffix(tsCode, ".SH") && (strings.HasPrefix(tsCode, "688") || strings.HasPrefix(tsCode, "689")):
		return BoardSTAR
	}
	return BoardMain
}

// LimitPercent is a stock's daily price limit in percent: ChiNext and STAR 20 (their ST
// stocks too), Beijing 30, the main board 10, or 5 for an ST stock (a name containing
// "ST", *ST included). New listings trade without a limit in their first days; this
// rule ignores that, so a new listing may show as limit-up or limit-down.
func LimitPercent(board, name string) int {
	switch board {
	case BoardChiNext, BoardSTAR:
		return 20
	case BoardBSE:
		return 30
	}
	if strings.Contains(name, "ST") {
		return 5
	}
	return 10
}

// LimitPrices are the limit-up and limit-down prices after a previous close at a limit
// of pct percent, rounded to the fen (0.01 yuan) half away from zero as the exchanges
// and Tushare do: round(pre_close × (1 ± pct/100), 2). The arithmetic is in whole fen, so
// 10.05 at 10% is 11.06, never 11.05 through a binary rounding error.
func LimitPrices(preClose float64, pct int) (up, down float64) {
	fen := int64(math.Round(preClose * 100))
	return float64(divRound(fen*int64(100+pct), 100)) / 100, float64(divRound(fen*int64(100-pct), 100)) / 100
}

// divRound divides a non-negative n by d, rounding half up.
func divRound(n, d int64) int64 { return (n + d/2) / d }

// LimitHit says whether a stock closed at its price limit.
type LimitHit string

// Limit hits: up, down, or neither ("").
const (
	LimitNone LimitHit = ""
	LimitUp   LimitHit = "up"
	LimitDown LimitHit = "down"
)

// LimitOf decides whether a close is limit-up (close >= the limit-up price) or limit-down
// (close <= the limit-down price), prices compared in fen. Without a previous close there
// is no limit.
func LimitOf(board, name string, preClose, close float64) LimitHit {
	if preClose <= 0 {
		return LimitNone
	}
	up, down := LimitPrices(preClose, LimitPercent(board, name))
	c := math.Round(close * 100)
	switch {
	case c >= math.Round(up*100):
		return LimitUp
	case c <= math.Round(down*100):
		return LimitDown
	}
	return LimitNone
}

// DaySortKeys are the columns a day's table sorts by.
var daySortKeys = []string{"code", "pct_chg", "close", "vol", "amount", "turnover_rate", "pe_ttm"}

// DaySortKeys lists the keys a day's table may be sorted by.
func DaySortKeys() []string { return append([]string(nil), daySortKeys...) }

// DayPageSize is how many stocks a page of a day's table shows.
const DayPageSize = 50

// DayQuery is what to show of a trading day: filters, order and page.
type DayQuery struct {
	Date time.Time
	// Board is a URL name of BoardSlugs, or "" for every board.
	Board string
	// Hit keeps only the stocks that closed limit-up or limit-down; LimitNone keeps all.
	Hit LimitHit
	// Sort is one of DaySortKeys; Desc sorts descending. Empty values sort last.
	Sort string
	Desc bool
	// Limit and Offset page the rows; Limit 0 returns no rows, only the counts.
	Limit, Offset int
}

// NewDayQuery checks a day's filters and order: an unknown sort key, order, board or
// limit filter is ErrInvalidInput. Empty values mean the defaults (pct_chg, descending).
func NewDayQuery(date time.Time, sortKey, order, board, hit string) (DayQuery, error) {
	q := DayQuery{Date: date, Sort: "pct_chg", Desc: true, Board: board, Hit: LimitHit(hit)}
	if sortKey != "" {
		if !contains(daySortKeys, sortKey) {
			return q, fmt.Errorf("%w: sort must be one of %s, not %q", ErrInvalidInput, strings.Join(daySortKeys, ", "), sortKey)
		}
		q.Sort = sortKey
	}
	switch order {
	case "", "desc":
	case "asc":
		q.Desc = false
	default:
		return q, fmt.Errorf("%w: order must be asc or desc, not %q", ErrInvalidInput, order)
	}
	if _, ok := BoardOfSlug(board); board != "" && !ok {
		return q, fmt.Errorf("%w: board must be one of %s, not %q", ErrInvalidInput, strings.Join(BoardSlugs(), ", "), board)
	}
	if q.Hit != LimitNone && q.Hit != LimitUp && q.Hit != LimitDown {
		return q, fmt.Errorf("%w: limit filter must be up or down, not %q", ErrInvalidInput, hit)
	}
	return q, nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// DayRow is one stock on one trading day, in Tushare's units: prices in yuan, pct_chg in
// percent, vol in lots of 100 shares, amount in thousand yuan, turnover_rate in percent.
// Values the warehouse lacks (no daily_basic row, PE of a loss) are null.
type DayRow struct {
	TSCode       string   `json:"ts_code"`
	Name         string   `json:"name"`
	Board        string   `json:"board"`
	Close        *float64 `json:"close"`
	PreClose     *float64 `json:"pre_close"`
	PctChg       *float64 `json:"pct_chg"`
	Vol          *float64 `json:"vol"`
	Amount       *float64 `json:"amount"`
	TurnoverRate *float64 `json:"turnover_rate"`
	PETTM        *float64 `json:"pe_ttm"`
	Limit        LimitHit `json:"limit"`
}

// Breadth counts the stocks that rose, stayed flat (or have no change) and fell, and
// those that closed at their limits.
type Breadth struct {
	Up        int `json:"up"`
	Flat      int `json:"flat"`
	Down      int `json:"down"`
	LimitUp   int `json:"limit_up"`
	LimitDown int `json:"limit_down"`
}

// DayMarket is one page of a trading day's stocks with the counts and totals of every
// stock the filters keep (not just the page's).
type DayMarket struct {
	Date string `json:"date"`
	// Stocks counts every stock of the day, filters aside.
	Stocks int `json:"stocks"`
	// Total counts the stocks the filters keep; Breadth, Vol and Amount cover them all.
	Total   int     `json:"total"`
	Breadth Breadth `json:"breadth"`
	// Vol is the total volume in lots of 100 shares; Amount the total turnover in
	// thousand yuan.
	Vol    float64  `json:"total_vol"`
	Amount float64  `json:"total_amount"`
	Items  []DayRow `json:"items"`
	Limit  int      `json:"limit"`
	Offset int      `json:"offset"`
	// Prev and Next are the nearest earlier and later days with data, null at the ends.
	Prev *string `json:"prev"`
	Next *string `json:"next"`
}

// NoDayError reports a date without data in the warehouse, with the nearest days that
// have some. It is ErrNotFound.
type NoDayError struct {
	Date       time.Time
	Prev, Next *time.Time
}

func (e *NoDayError) Error() string {
	return fmt.Sprintf("no data for %s in the warehouse", e.Date.Format(DateLayout))
}

// Unwrap makes a NoDayError ErrNotFound.
func (e *NoDayError) Unwrap() error { return ErrNotFound }
