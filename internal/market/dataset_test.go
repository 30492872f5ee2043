package market

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDatasetsAreWellFormed(t *testing.T) {
	t.Parallel()
	names := DatasetNames()
	require.Equal(t, []string{"daily", "adj_factor", "daily_basic"}, names)
	for _, ds := range append(Datasets(), StockBasic()) {
		require.NotEmpty(t, ds.Title, ds.Name)
		cols := ds.ColumnNames()
		require.Equal(t, "ts_code", cols[0], ds.Name)
		for _, c := range ds.Columns {
			require.NotEmpty(t, c.Unit, "%s.%s says its unit", ds.Table, c.Name)
			require.NotContains(t, c.Unit, "'", "units go into SQL literals as they are")
		}
		for _, k := range ds.Key {
			require.Contains(t, cols, k, ds.Name)
		}
		if ds.DateColumn != "" {
			require.Equal(t, ds.DateColumn, ds.Key[0], "%s: replacing a day is a range delete on the key", ds.Name)
			require.Equal(t, "trade_date", cols[1])
		}
	}
	require.NotContains(t, names, StockBasic().Name, "a snapshot, not a per-day dataset")
	_, err := LookupDataset("stock_basic")
	require.ErrorIs(t, err, ErrUnknownDataset)
	require.True(t, slices.Equal([]string{"L", "D", "P"}, ListStatuses()))
}

type counted struct{ Rows }

func (counted) Len() int { return 7 }

func TestRowCount(t *testing.T) {
	t.Parallel()
	require.Equal(t, 7, RowCount(counted{}))
	require.Equal(t, -1, RowCount(struct{ Rows }{}))
}
