package baostock

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// Column orders of the rows the mapping functions return. DailyColumns is market's
// daily dataset (internal/market/dataset.go); the other two are Tushare's adj_factor and
// daily_basic as market is about to define them. TODO(lead): once market has the
// adj_factor and daily_basic datasets, use their ColumnNames and drop these copies.

// DailyColumns returns daily_bar's columns, the order of DailyRows' values.
func DailyColumns() []string {
	return []string{"ts_code", "trade_date", "open", "high", "low", "close", "pre_close", "change",
		"pct_chg", "vol", "amount"}
}

// AdjFactorColumns returns adj_factor's columns, the order of AdjFactorRows' values.
func AdjFactorColumns() []string { return []string{"ts_code", "trade_date", "adj_factor"} }

// DailyBasicColumns returns daily_basic's columns, the order of DailyBasicRows' values.
func DailyBasicColumns() []string {
	return []string{"ts_code", "trade_date", "close", "turnover_rate", "turnover_rate_f",
		"volume_ratio", "pe", "pe_ttm", "pb", "ps", "ps_ttm", "dv_ratio", "dv_ttm", "total_share",
		"float_share", "free_share", "total_mv", "circ_mv"}
}

// dailyBasicWidth is len(DailyBasicColumns()).
const dailyBasicWidth = 18

// codePattern is a Baostock security code: exchange, dot, six digits.
var codePattern = regexp.MustCompile(`^(sh|sz|bj)\.[0-9]{6}$`)

func checkCode(code string) error {
	if !codePattern.MatchString(code) {
		return fmt.Errorf("%w: %q is not a Baostock code such as sh.600000", market.ErrInvalidInput, code)
	}
	return nil
}

// TSCode turns a Baostock code into Tushare's: sh.600000 → 600000.SH, sz.000001 →
// 000001.SZ, bj.830799 → 830799.BJ.
func TSCode(code string) (string, error) {
	if err := checkCode(code); err != nil {
		return "", err
	}
	return code[3:] + "." + strings.ToUpper(code[:2]), nil
}

// BaostockCode turns a Tushare code into Baostock's: 600000.SH → sh.600000.
func BaostockCode(tsCode string) (string, error) {
	if len(tsCode) != 9 || tsCode[6] != '.' {
		return "", fmt.Errorf("%w: %q is not a Tushare code such as 600000.SH", market.ErrInvalidInput, tsCode)
	}
	code := strings.ToLower(tsCode[7:]) + "." + tsCode[:6]
	if err := checkCode(code); err != nil {
		return "", fmt.Errorf("%w: %q is not a Tushare code such as 600000.SH", market.ErrInvalidInput, tsCode)
	}
	return code, nil
}

// IsAShare reports whether a Baostock code is an A-share stock, by the exchanges' code
// ranges: Shanghai 60xxxx (main board) and 68xxxx (STAR, its CDRs 689xxx included);
// Shenzhen 00xxxx (main board, ex-SME 002/003) and 30xxxx (ChiNext); Beijing 4xxxxx,
// 8xxxxx and 92xxxx but its indices 899xxx, should Baostock ever list it. Everything else
// is out: indices (sh.000xxx, sz.399xxx), B shares (sh.900xxx, sz.200xxx), funds, bonds.
// query_all_stock of 2024-01-02 lists 5,097 such stocks and 541 indices.
func IsAShare(code string) bool {
	if !codePattern.MatchString(code) {
		return false
	}
	ex, num := code[:2], code[3:]
	switch ex {
	case "sh":
		return strings.HasPrefix(num, "60") || strings.HasPrefix(num, "68")
	case "sz":
		return strings.HasPrefix(num, "00") || strings.HasPrefix(num, "30")
	case "bj":
		return (num[0] == '4' || num[0] == '8' || strings.HasPrefix(num, "92")) && !strings.HasPrefix(num, "899")
	}
	return false
}

// value parses a Baostock number: "" is null (nil), anything else a float64.
func value(s string) (any, error) {
	if s == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}

// scaled is value divided by div (shares → lots, yuan → thousand yuan).
func scaled(s string, div float64) (any, error) {
	v, err := value(s)
	if v == nil || err != nil {
		return v, err
	}
	return v.(float64) / div, nil
}

// kRow reads the named fields of k-data rows into numbers, row by row.
type kRow struct {
	t    *Table
	idx  map[string]int
	row  []string
	err  error
	code string
	date time.Time
}

func newKRow(t *Table, names ...string) (*kRow, error) {
	idx, err := t.cols(append([]string{"date", "code", "tradestatus"}, names...)...)
	if err != nil {
		return nil, err
	}
	k := &kRow{t: t, idx: make(map[string]int)}
	for i, n := range append([]string{"date", "code", "tradestatus"}, names...) {
		k.idx[n] = idx[i]
	}
	return k, nil
}

// load moves to row r and reads its key; it reports false for suspended rows.
func (k *kRow) load(r []string) (bool, error) {
	k.row = r
	if r[k.idx["tradestatus"]] == "0" {
		return false, nil
	}
	var err error
	if k.code, err = TSCode(r[k.idx["code"]]); err != nil {
		return false, err
	}
	if k.date, err = market.ParseDate(r[k.idx["date"]]); err != nil {
		return false, err
	}
	return true, nil
}

// num is field name of the current row divided by div; the first error sticks.
func (k *kRow) num(name string, div float64) any {
	v, err := scaled(k.row[k.idx[name]], div)
	if err != nil && k.err == nil {
		k.err = fmt.Errorf("%s %s: %s %w", k.code, k.date.Format(market.DateLayout), name, err)
	}
	return v
}

// DailyRows maps daily k data (raw prices, adjustflag 3) into daily_bar rows in
// DailyColumns order and Tushare's units: sh.600000 → 600000.SH, preclose → pre_close,
// change = close − pre_close (rounded to 6 decimals, to drop the float noise of a
// subtraction), pctChg → pct_chg, volume in shares → vol in lots (÷100), amount in yuan →
// thousand yuan (÷1000). Suspended rows (tradestatus 0) have no row, as in Tushare; ""
// values are nil.
func DailyRows(t *Table) ([][]any, error) {
	k, err := newKRow(t, "open", "high", "low", "close", "preclose", "pctChg", "volume", "amount")
	if err != nil {
		return nil, err
	}
	var out [][]any
	for _, r := range t.Rows {
		ok, err := k.load(r)
		if err != nil {
			return nil, fmt.Errorf("baostock daily: %w", err)
		}
		if !ok {
			continue
		}
		row := []any{k.code, k.date, k.num("open", 1), k.num("high", 1), k.num("low", 1),
			k.num("close", 1), k.num("preclose", 1), nil, k.num("pctChg", 1),
			k.num("volume", 100), k.num("amount", 1000)}
		if c, ok := row[5].(float64); ok {
			if p, ok := row[6].(float64); ok {
				row[7] = math.Round((c-p)*1e6) / 1e6
			}
		}
		if k.err != nil {
			return nil, fmt.Errorf("baostock daily: %w", k.err)
		}
		out = append(out, row)
	}
	return out, nil
}

// DailyBasicRows maps daily k data into daily_basic rows in DailyBasicColumns order:
// close, turnover_rate = turn (%), pe_ttm = peTTM, pb = pbMRQ, ps_ttm = psTTM; Baostock
// has none of the other columns, which are nil. As Tushare leaves the PE of loss-making
// companies empty, a negative peTTM is nil. Suspended rows have no row, as in daily.
func DailyBasicRows(t *Table) ([][]any, error) {
	k, err := newKRow(t, "close", "turn", "peTTM", "pbMRQ", "psTTM")
	if err != nil {
		return nil, err
	}
	var out [][]any
	for _, r := range t.Rows {
		ok, err := k.load(r)
		if err != nil {
			return nil, fmt.Errorf("baostock daily_basic: %w", err)
		}
		if !ok {
			continue
		}
		row := make([]any, dailyBasicWidth)
		row[0], row[1], row[2], row[3] = k.code, k.date, k.num("close", 1), k.num("turn", 1)
		row[7], row[8], row[10] = k.num("peTTM", 1), k.num("pbMRQ", 1), k.num("psTTM", 1)
		if pe, ok := row[7].(float64); ok && pe < 0 {
			row[7] = nil
		}
		if k.err != nil {
			return nil, fmt.Errorf("baostock daily_basic: %w", k.err)
		}
		out = append(out, row)
	}
	return out, nil
}

// AdjFactorRows turns a stock's adjustment events into one adj_factor row per day of
// days (AdjFactorColumns order), as Tushare has one per stock and trading day while
// Baostock lists only the days on which the factor changed. A day's factor is the
// backAdjustFactor of the latest event on or before it (the event's date is taken as the
// ex-date, from which the factor applies); before the first event it is 1.0, the factor
// of a stock that has never paid out since listing. So the events must reach back to the
// listing (query from EarliestDate), or an earlier factor is lost.
func AdjFactorRows(tsCode string, events []AdjustEvent, days []time.Time) [][]any {
	events = slices.Clone(events)
	slices.SortFunc(events, func(a, b AdjustEvent) int { return a.Date.Compare(b.Date) })
	days = slices.Clone(days)
	slices.SortFunc(days, time.Time.Compare)
	out := make([][]any, 0, len(days))
	factor, next := 1.0, 0
	for _, d := range days {
		for next < len(events) && !events[next].Date.After(d) {
			factor = events[next].Back
			next++
		}
		out = append(out, []any{tsCode, d, factor})
	}
	return out
}
