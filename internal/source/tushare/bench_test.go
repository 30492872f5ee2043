package tushare_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/tushare"
)

// BenchmarkFetchDay fetches a whole day of daily over HTTP from the fake (one call of
// about 5,800 rows), decodes it and maps it by field name: the client's own cost per day.
func BenchmarkFetchDay(b *testing.B) {
	_, src := setup(b, nil, tushare.Config{})
	ds := dataset(b, "daily")
	day := date("2024-07-01")
	demoRows(b, ds, day) // warm the market
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		rs, err := src.Fetch(context.Background(), ds, day)
		require.NoError(b, err)
		rows += market.RowCount(rs)
	}
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
}
