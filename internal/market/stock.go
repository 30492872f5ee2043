package market

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Stock is one row of stock_basic: what the stock page shows of a stock and what a
// search answers.
type Stock struct {
	TSCode     string     `json:"ts_code"`
	Symbol     string     `json:"symbol"`
	Name       string     `json:"name"`
	Cnspell    string     `json:"cnspell"`
	Area       string     `json:"area"`
	Industry   string     `json:"industry"`
	Market     string     `json:"market"`
	Exchange   string     `json:"exchange"`
	ListStatus string     `json:"list_status"`
	ListDate   *time.Time `json:"list_date"`
	DelistDate *time.Time `json:"delist_date"`
}

// Adjust says which prices a bar carries: raw (as traded), forward-adjusted (qfq:
// relative to the stock's latest factor) or back-adjusted (hfq: times the factor).
type Adjust string

// The price adjustments.
const (
	AdjustRaw Adjust = "raw"
	AdjustQFQ Adjust = "qfq"
	AdjustHFQ Adjust = "hfq"
)

// Adjusts lists the price adjustments in the order pages offer them.
func Adjusts() []Adjust { return []Adjust{AdjustRaw, AdjustQFQ, AdjustHFQ} }

// ParseAdjust reads raw, qfq or hfq; empty is raw.
func ParseAdjust(s string) (Adjust, error) {
	switch a := Adjust(strings.ToLower(strings.TrimSpace(s))); a {
	case "":
		return AdjustRaw, nil
	case AdjustRaw, AdjustQFQ, AdjustHFQ:
		return a, nil
	}
	return "", fmt.Errorf("%w: adj must be raw, qfq or hfq, not %q", ErrInvalidInput, s)
}

// tsCodeRe is a Tushare code: six digits, a dot and the exchange.
var tsCodeRe = regexp.MustCompile(`^[0-9]{6}\.(SH|SZ|BJ)$`)

// ParseTSCode reads a Tushare code such as 600519.SH (the suffix in either case).
func ParseTSCode(s string) (string, error) {
	code := strings.ToUpper(strings.TrimSpace(s))
	if !tsCodeRe.MatchString(code) {
		return "", fmt.Errorf("%w: ts_code must be six digits and .SH, .SZ or .BJ (600519.SH), not %q", ErrInvalidInput, clip(s, 40))
	}
	return code, nil
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// BarQuery asks for one stock's daily bars from Start to End (both included), with
// prices adjusted as Adjust says.
type BarQuery struct {
	TSCode     string
	Start, End time.Time
	Adjust     Adjust
}

// Check reports a query whose range is backwards.
func (q BarQuery) Check() error {
	if q.End.Before(q.Start) {
		return fmt.Errorf("%w: start %s is after end %s", ErrInvalidRange, q.Start.Format(DateLayout), q.End.Format(DateLayout))
	}
	return nil
}

// Bar is one stock's trading day from daily_bar in Tushare's units (prices in yuan,
// adjusted as asked; vol in lots of 100 shares; amount in thousand yuan). Factor is the
// day's adj_factor (nil when the warehouse has none for it).
type Bar struct {
	Date     string   `json:"trade_date"`
	Open     float64  `json:"open"`
	High     float64  `json:"high"`
	Low      float64  `json:"low"`
	Close    float64  `json:"close"`
	PreClose *float64 `json:"pre_close"`
	Change   *float64 `json:"change"`
	PctChg   *float64 `json:"pct_chg"`
	Vol      *float64 `json:"vol"`
	Amount   *float64 `json:"amount"`
	Factor   *float64 `json:"adj_factor"`
}

// Metric names a daily_basic column the stock page can draw under its prices.
type Metric string

// The metrics the stock page offers.
const (
	MetricPETTM    Metric = "pe_ttm"
	MetricPB       Metric = "pb"
	MetricTurnover Metric = "turnover_rate"
)

// Metrics lists the metrics in the order the page offers them.
func Metrics() []Metric { return []Metric{MetricPETTM, MetricPB, MetricTurnover} }

// Chart is everything the stock page draws, in columns (one entry per day, in order):
// the bars, the metrics of the same days (nil where daily_basic has none), the trading
// days of the range on which the stock has no bar (suspended), and the days its
// adjustment factor changed.
type Chart struct {
	TSCode        string                `json:"ts_code"`
	Adjust        Adjust                `json:"adj"`
	Dates         []string              `json:"dates"`
	Open          []float64             `json:"open"`
	High          []float64             `json:"high"`
	Low           []float64             `json:"low"`
	Close         []float64             `json:"close"`
	Vol           []*float64            `json:"vol"`
	Metrics       map[Metric][]*float64 `json:"metrics"`
	Suspended     []string              `json:"suspended"`
	FactorChanges []FactorChange        `json:"factor_changes"`
}

// FactorChange is a day on which a stock's adjustment factor differs from the day
// before (an ex-date: a dividend, a bonus share, a split).
type FactorChange struct {
	Date   string  `json:"date"`
	From   float64 `json:"from"`
	To     float64 `json:"to"`
	Factor float64 `json:"ratio"`
}

// BarSeries is the answer of GET /api/v1/bars: one stock's bars over a range.
type BarSeries struct {
	TSCode string `json:"ts_code"`
	Name   string `json:"name"`
	Adjust Adjust `json:"adj"`
	Start  string `json:"start"`
	End    string `json:"end"`
	Bars   []Bar  `json:"bars"`
}
