package market

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// ColumnType is the PostgreSQL type of a dataset column.
type ColumnType string

// Column types used by the datasets.
const (
	Text   ColumnType = "text"
	Date   ColumnType = "date"
	Double ColumnType = "double precision"
)

// Column is one column of a dataset's table, named and typed as Tushare delivers it.
type Column struct {
	// Name is Tushare's field name, which is also the column's name.
	Name string
	// Type is the column's PostgreSQL type.
	Type ColumnType
	// Unit says what the value means and in which unit, as the migration's COMMENT ON
	// COLUMN states it (a test keeps the two in step).
	Unit string
}

// Dataset is one kind of market data loaded per trading day into one table. A source
// hands rows whose values follow Columns in order; the first Key column is the trade
// date, so replacing a day is a cheap range delete on the primary key.
type Dataset struct {
	// Name is what users type and the API carries ("daily").
	Name string
	// Title is a short English description for pages and help.
	Title string
	// Table is the target table.
	Table string
	// DateColumn is the column holding the trading date.
	DateColumn string
	// Columns lists every column in the order rows carry values.
	Columns []Column
	// Key is the primary key, leading with DateColumn.
	Key []string
}

// ColumnNames returns the names of ds's columns in row order.
func (ds Dataset) ColumnNames() []string {
	names := make([]string, len(ds.Columns))
	for i, c := range ds.Columns {
		names[i] = c.Name
	}
	return names
}

// daily is Tushare's `daily`: one bar per stock and trading day, unadjusted prices in
// yuan, vol in lots of 100 shares, amount in thousand yuan. Suspended stocks have no row.
var daily = Dataset{
	Name:       "daily",
	Title:      "Daily bars (OHLC, volume, amount)",
	Table:      "daily_bar",
	DateColumn: "trade_date",
	Columns: []Column{
		tsCode, tradeDate,
		{"open", Double, "opening price, yuan, unadjusted"},
		{"high", Double, "highest price, yuan, unadjusted"},
		{"low", Double, "lowest price, yuan, unadjusted"},
		{"close", Double, "closing price, yuan, unadjusted"},
		{"pre_close", Double, "previous close, yuan, adjusted for ex-rights on an ex-date"},
		{"change", Double, "close - pre_close, yuan"},
		{"pct_chg", Double, "change / pre_close, % (5 = 5%)"},
		{"vol", Double, "volume, lots of 100 shares (手)"},
		{"amount", Double, "turnover, thousand yuan (千元)"},
	},
	Key: []string{"trade_date", "ts_code"},
}

// The key columns every per-day dataset shares.
var (
	tsCode    = Column{"ts_code", Text, "Tushare code: 6 digits and .SH, .SZ or .BJ"}
	tradeDate = Column{"trade_date", Date, "trading date (exchange time, Asia/Shanghai)"}
)

// adjFactor is Tushare's `adj_factor`: the cumulative adjustment factor of every listed
// stock on every trading day, suspended ones included. It steps up at each ex-rights
// event and carries on unchanged between them.
var adjFactor = Dataset{
	Name:       "adj_factor",
	Title:      "Adjustment factors (cumulative, for adjusted prices)",
	Table:      "adj_factor",
	DateColumn: "trade_date",
	Columns: []Column{
		tsCode, tradeDate,
		{"adj_factor", Double, "cumulative adjustment factor: backward-adjusted price = price × adj_factor; " +
			"forward-adjusted = price × adj_factor / latest adj_factor"},
	},
	Key: []string{"trade_date", "ts_code"},
}

// dailyBasic is Tushare's `daily_basic`: valuation and share counts of every stock that
// trades that day. Ratios are NULL where they are undefined (pe of a loss-making stock).
var dailyBasic = Dataset{
	Name:       "daily_basic",
	Title:      "Daily indicators (valuation, turnover, shares)",
	Table:      "daily_basic",
	DateColumn: "trade_date",
	Columns: []Column{
		tsCode, tradeDate,
		{"close", Double, "closing price, yuan, unadjusted"},
		{"turnover_rate", Double, "turnover rate on float shares, % (5 = 5%)"},
		{"turnover_rate_f", Double, "turnover rate on free-float shares, %"},
		{"volume_ratio", Double, "volume ratio (volume against the recent average), a plain ratio"},
		{"pe", Double, "price/earnings, total market value / net profit of the last fiscal year; NULL when a loss"},
		{"pe_ttm", Double, "price/earnings on the net profit of the trailing twelve months; NULL when a loss"},
		{"pb", Double, "price/book, total market value / net assets"},
		{"ps", Double, "price/sales, total market value / revenue of the last fiscal year"},
		{"ps_ttm", Double, "price/sales on the revenue of the trailing twelve months"},
		{"dv_ratio", Double, "dividend yield of the last fiscal year, %; NULL without dividends"},
		{"dv_ttm", Double, "dividend yield of the trailing twelve months, %; NULL without dividends"},
		{"total_share", Double, "total shares, 10 thousand shares (万股)"},
		{"float_share", Double, "tradable shares, 10 thousand shares (万股)"},
		{"free_share", Double, "free-float shares, 10 thousand shares (万股)"},
		{"total_mv", Double, "total market value, 10 thousand yuan (万元)"},
		{"circ_mv", Double, "market value of the tradable shares, 10 thousand yuan (万元)"},
	},
	Key: []string{"trade_date", "ts_code"},
}

// stockBasic is Tushare's `stock_basic` with every output field.
var stockBasic = Dataset{
	Name:  "stock_basic",
	Title: "Stock list (codes, names, listing status)",
	Table: "stock_basic",
	Columns: []Column{
		tsCode,
		{"symbol", Text, "exchange code, 6 digits"},
		{"name", Text, "short name, with its ST or *ST prefix"},
		{"area", Text, "region of the company"},
		{"industry", Text, "industry"},
		{"fullname", Text, "full company name"},
		{"enname", Text, "English name"},
		{"cnspell", Text, "pinyin initials of the short name"},
		{"market", Text, "board: 主板, 创业板, 科创板, 北交所 or CDR"},
		{"exchange", Text, "exchange: SSE, SZSE or BSE"},
		{"curr_type", Text, "trading currency (CNY)"},
		{"list_status", Text, "L listed, D delisted, P listing suspended"},
		{"list_date", Date, "listing date"},
		{"delist_date", Date, "delisting date; NULL unless delisted"},
		{"is_hs", Text, "in the Shanghai/Shenzhen-Hong Kong Stock Connect: N no, H Shanghai, S Shenzhen"},
		{"act_name", Text, "actual controller"},
		{"act_ent_type", Text, "kind of the actual controller"},
	},
	Key: []string{"ts_code"},
}

// StockBasic describes Tushare's `stock_basic`, the list of every stock (listed,
// delisted and suspended from listing), one row per ts_code. It is a snapshot replaced
// whole, not a per-day dataset: it has no DateColumn and is not among Datasets.
func StockBasic() Dataset { return stockBasic }

// ListStatuses are the values of stock_basic's list_status that a full stock list
// covers, one upstream call each: listed, delisted, listing suspended.
func ListStatuses() []string { return []string{"L", "D", "P"} }

// CalendarDay is one date of an exchange's trading calendar as a source reports it.
type CalendarDay struct {
	// Date is the calendar date at midnight UTC.
	Date time.Time
	// Open reports whether the exchanges trade that day.
	Open bool
}

// Datasets returns every dataset marketsync can load per trading day, in display order.
// Adding one is a new entry here, a migration for its table and the sources' rows for it.
func Datasets() []Dataset {
	return []Dataset{daily, adjFactor, dailyBasic}
}

// DatasetNames returns the names of Datasets.
func DatasetNames() []string {
	var names []string
	for _, ds := range Datasets() {
		names = append(names, ds.Name)
	}
	return names
}

// LookupDataset returns the dataset called name, or ErrUnknownDataset.
func LookupDataset(name string) (Dataset, error) {
	for _, ds := range Datasets() {
		if ds.Name == name {
			return ds, nil
		}
	}
	return Dataset{}, fmt.Errorf("%w %q (known: %v)", ErrUnknownDataset, name, DatasetNames())
}

// NormalizeDatasets checks names, drops duplicates and returns them in display order;
// no names means the default dataset, daily.
func NormalizeDatasets(names []string) ([]string, error) {
	if len(names) == 0 {
		return []string{daily.Name}, nil
	}
	var out []string
	for _, ds := range Datasets() {
		if slices.Contains(names, ds.Name) {
			out = append(out, ds.Name)
		}
	}
	for _, n := range names {
		if _, err := LookupDataset(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Rows is a stream of one dataset's rows for one day, in Columns order. It has the shape
// of pgx.CopyFromSource, so a source's rows flow into COPY without being buffered.
type Rows interface {
	// Next advances to the next row; false at the end or on error.
	Next() bool
	// Values returns the current row's values.
	Values() ([]any, error)
	// Err returns the error that stopped the stream, if any.
	Err() error
}

// RowCount returns how many rows rows yields in all, when its source knows it before
// they are read (a network source fetches the whole day first and has a Len method), or
// -1 when it does not (a stream computed as it goes, such as the demo's). The engine
// compares it with the rows COPY took.
func RowCount(rows Rows) int {
	if l, ok := rows.(interface{ Len() int }); ok {
		return l.Len()
	}
	return -1
}

// RowSlice is a day's rows held in memory, as Rows: a network source's fetched answer,
// or a day read back from staging. Len is known before they are read.
type RowSlice struct {
	rows [][]any
	i    int
}

// NewRowSlice returns rows as Rows.
func NewRowSlice(rows [][]any) *RowSlice { return &RowSlice{rows: rows, i: -1} }

// Next advances to the next row.
func (r *RowSlice) Next() bool { r.i++; return r.i < len(r.rows) }

// Values returns the current row.
func (r *RowSlice) Values() ([]any, error) { return r.rows[r.i], nil }

// Err is always nil: the rows are all there.
func (r *RowSlice) Err() error { return nil }

// Len is the number of rows.
func (r *RowSlice) Len() int { return len(r.rows) }

// String describes the rows without listing them.
func (r *RowSlice) String() string { return strconv.Itoa(len(r.rows)) + " rows" }

// Listing is a stock's time on the exchanges: a range source fetches each stock listed at
// some point of a batch's range.
type Listing struct {
	// TSCode is the Tushare code, such as 600000.SH.
	TSCode string
	// ListDate is the first trading day; DelistDate the day it left (zero while listed).
	ListDate, DelistDate time.Time
}

// RangeRequest asks a range source for one stock over a date range.
type RangeRequest struct {
	Listing
	// Start and End bound the range, both inclusive.
	Start, End time.Time
	// Datasets are the datasets wanted (others may be skipped).
	Datasets []string
	// MaxRows is the most daily rows the stock can have in the range (its trading days
	// while listed), or 0 when unknown: a source may stop paging once that many came.
	MaxRows int
}
