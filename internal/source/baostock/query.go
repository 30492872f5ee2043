package baostock

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// maxPages stops a server that never sends the empty last page.
const maxPages = 10_000

// query runs a paged query: page 1, 2, … until a page comes back with no record, as the
// Python client does; or, when maxRows > 0 is the most rows the query can have, until
// that many came (one call instead of two for a stock's range, whose rows are at most
// its trading days).
func (c *Client) query(ctx context.Context, typ, method string, fieldsAt int, args []string, maxRows int) (*Table, error) {
	t := &Table{}
	for p := 1; p <= maxPages; p++ {
		out, err := c.page(ctx, typ, method, p, args)
		if err != nil {
			return nil, err
		}
		fields, rows, err := parsePage(out, fieldsAt)
		if err != nil {
			return nil, fmt.Errorf("baostock %s page %d: %w", method, p, err)
		}
		if t.Fields == nil {
			t.Fields = fields
		}
		if len(rows) == 0 {
			return t, nil
		}
		t.Rows = append(t.Rows, rows...)
		if maxRows > 0 && len(t.Rows) >= maxRows {
			return t, nil
		}
	}
	return nil, fmt.Errorf("baostock %s: still not at the last page after %d pages", method, maxPages)
}

func day(t time.Time) string { return t.Format(market.DateLayout) }

// parseDay reads a date value; "" is the zero time.
func parseDay(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return market.ParseDate(s)
}

// TradeDate is one calendar day and whether the exchanges trade on it.
type TradeDate struct {
	// Date is the calendar date, midnight UTC.
	Date time.Time
	// Trading is true on trading days.
	Trading bool
}

// TradeDates lists every calendar day from start to end with whether it is a trading
// day (query_trade_dates).
func (c *Client) TradeDates(ctx context.Context, start, end time.Time) ([]TradeDate, error) {
	t, err := c.query(ctx, TypeTradeDates, "query_trade_dates", fieldsAtTradeDates, []string{day(start), day(end)}, 0)
	if err != nil {
		return nil, err
	}
	if len(t.Rows) == 0 {
		return nil, nil
	}
	idx, err := t.cols("calendar_date", "is_trading_day")
	if err != nil {
		return nil, err
	}
	out := make([]TradeDate, len(t.Rows))
	for i, r := range t.Rows {
		d, err := market.ParseDate(r[idx[0]])
		if err != nil {
			return nil, fmt.Errorf("baostock query_trade_dates: %w", err)
		}
		out[i] = TradeDate{Date: d, Trading: r[idx[1]] == "1"}
	}
	return out, nil
}

// Security is one entry of a day's universe: a stock or an index.
type Security struct {
	// Code is Baostock's code, such as sh.600000 or sz.399001.
	Code string
	// Trading is false when the security is suspended that day (tradeStatus 0).
	Trading bool
	// Name is the short name that day.
	Name string
}

// AllStock lists every security quoted on day, indices included (query_all_stock):
// IsAShare keeps the stocks. A day without trading has none.
func (c *Client) AllStock(ctx context.Context, d time.Time) ([]Security, error) {
	t, err := c.query(ctx, TypeAllStock, "query_all_stock", fieldsAtAllStock, []string{day(d)}, 0)
	if err != nil {
		return nil, err
	}
	if len(t.Rows) == 0 {
		return nil, nil
	}
	idx, err := t.cols("code", "tradeStatus", "code_name")
	if err != nil {
		return nil, err
	}
	out := make([]Security, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = Security{Code: r[idx[0]], Trading: r[idx[1]] == "1", Name: r[idx[2]]}
	}
	return out, nil
}

// StockInfo is a security's listing record (query_stock_basic).
type StockInfo struct {
	// Code is Baostock's code.
	Code string
	// Name is the current short name.
	Name string
	// IPODate is the listing date; OutDate the delisting date, zero while listed.
	IPODate, OutDate time.Time
	// Type is 1 stock, 2 index, 3 other, 4 convertible bond, 5 ETF.
	Type string
	// Listed is true while listed (status 1).
	Listed bool
}

// StockBasic returns the listing record of code, or of every security if code is "".
func (c *Client) StockBasic(ctx context.Context, code string) ([]StockInfo, error) {
	if code != "" {
		if err := checkCode(code); err != nil {
			return nil, err
		}
	}
	t, err := c.query(ctx, TypeStockBasic, "query_stock_basic", fieldsAtStockBasic, []string{code, ""}, 0)
	if err != nil {
		return nil, err
	}
	if len(t.Rows) == 0 {
		return nil, nil
	}
	idx, err := t.cols("code", "code_name", "ipoDate", "outDate", "type", "status")
	if err != nil {
		return nil, err
	}
	out := make([]StockInfo, len(t.Rows))
	for i, r := range t.Rows {
		ipo, err1 := parseDay(r[idx[2]])
		outDate, err2 := parseDay(r[idx[3]])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("baostock query_stock_basic %s: bad dates %q, %q", r[idx[0]], r[idx[2]], r[idx[3]])
		}
		out[i] = StockInfo{Code: r[idx[0]], Name: r[idx[1]], IPODate: ipo, OutDate: outDate,
			Type: r[idx[4]], Listed: r[idx[5]] == "1"}
	}
	return out, nil
}

// KDataQuery asks for one security's bars over a date range (query_history_k_data_plus).
type KDataQuery struct {
	// Code is Baostock's code, such as sh.600000.
	Code string
	// Fields is the comma-separated list of fields (DailyFields if empty).
	Fields string
	// Start and End bound the range, both inclusive.
	Start, End time.Time
	// Frequency is "d" (daily; the default), "w", "m", or minutes "5", "15", "30", "60".
	Frequency string
	// Adjust is "3" raw (the default), "2" forward-adjusted (qfq), "1" back-adjusted (hfq).
	Adjust string
	// MaxRows, when above zero, is the most rows the range can have (daily bars: its
	// trading days while the stock was listed). Once that many came, no further page is
	// asked for; fewer, and paging goes on to the empty page as usual.
	MaxRows int
}

// DailyFields are the daily k-data fields marketsync loads: daily_bar's and
// daily_basic's, plus the flags.
const DailyFields = "date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,pctChg,peTTM,pbMRQ,psTTM,isST"

// HistoryKData returns the bars q asks for, every page together. The reply is
// compressed (type 96); suspended days have rows with tradestatus 0.
func (c *Client) HistoryKData(ctx context.Context, q KDataQuery) (*Table, error) {
	if err := checkCode(q.Code); err != nil {
		return nil, err
	}
	if q.Fields == "" {
		q.Fields = DailyFields
	}
	if q.Frequency == "" {
		q.Frequency = "d"
	}
	if q.Adjust == "" {
		q.Adjust = "3"
	}
	args := []string{q.Code, q.Fields, day(q.Start), day(q.End), q.Frequency, q.Adjust}
	return c.query(ctx, TypeKData, "query_history_k_data_plus", fieldsAtKData, args, q.MaxRows)
}

// AdjustEvent is a day on which a stock's adjustment factors changed (an ex-rights or
// ex-dividend day), with the factors valid from that day on.
type AdjustEvent struct {
	// Code is Baostock's code.
	Code string
	// Date is dividOperateDate, taken as the ex-date: the first day the factors apply.
	Date time.Time
	// Fore, Back and Adjust are foreAdjustFactor, backAdjustFactor and adjustFactor.
	Fore, Back, Adjust float64
}

// AdjustFactor returns code's adjustment events from start to end (query_adjust_factor).
// Only days on which the factors changed are listed: AdjFactorRows fills the days between.
func (c *Client) AdjustFactor(ctx context.Context, code string, start, end time.Time) ([]AdjustEvent, error) {
	if err := checkCode(code); err != nil {
		return nil, err
	}
	t, err := c.query(ctx, TypeAdjustFactor, "query_adjust_factor", fieldsAtAdjustFactor,
		[]string{code, day(start), day(end)}, 0)
	if err != nil {
		return nil, err
	}
	if len(t.Rows) == 0 {
		return nil, nil
	}
	idx, err := t.cols("code", "dividOperateDate", "foreAdjustFactor", "backAdjustFactor", "adjustFactor")
	if err != nil {
		return nil, err
	}
	out := make([]AdjustEvent, len(t.Rows))
	for i, r := range t.Rows {
		d, err := market.ParseDate(r[idx[1]])
		if err != nil {
			return nil, fmt.Errorf("baostock query_adjust_factor %s: %w", code, err)
		}
		e := AdjustEvent{Code: r[idx[0]], Date: d}
		for k, dst := range []*float64{&e.Fore, &e.Back, &e.Adjust} {
			if *dst, err = strconv.ParseFloat(r[idx[2+k]], 64); err != nil {
				return nil, fmt.Errorf("baostock query_adjust_factor %s %s: %s %q is not a number",
					code, r[idx[1]], t.Fields[idx[2+k]], r[idx[2+k]])
			}
		}
		out[i] = e
	}
	return out, nil
}
