package market

import (
	"fmt"
	"slices"
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
	Name string
	Type ColumnType
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
// yuan, vol in lots of 100 shares, amount in thousand yuan.
var daily = Dataset{
	Name:       "daily",
	Title:      "Daily bars (OHLC, volume, amount)",
	Table:      "daily_bar",
	DateColumn: "trade_date",
	Columns: []Column{
		{"ts_code", Text}, {"trade_date", Date},
		{"open", Double}, {"high", Double}, {"low", Double}, {"close", Double},
		{"pre_close", Double}, {"change", Double}, {"pct_chg", Double},
		{"vol", Double}, {"amount", Double},
	},
	Key: []string{"trade_date", "ts_code"},
}

// Datasets returns every dataset marketsync can load, in display order. Adding one
// (adj_factor, daily_basic) is a new entry here, a migration for its table and the
// source's rows for it.
func Datasets() []Dataset {
	return []Dataset{daily}
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
