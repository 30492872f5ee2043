package store

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

// dividendStock loads by hand a week of one stock (600998.SH) whose factor steps from
// 1.0 to 1.25 on 2024-06-04 (a dividend of a fifth of its price), that is suspended on
// 06-05 (daily is loaded that day, the stock has no row) and has no factor on 06-07.
func dividendStock(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO daily_bar (ts_code, trade_date, open, high, low, close, pre_close, change, pct_chg, vol, amount) VALUES
			('600998.SH', '2024-06-03', 10, 11, 9, 10, 10, 0, 0, 100, 1000),
			('600998.SH', '2024-06-04', 8, 8.5, 7.5, 8, 10, -2, -20, 100, 800),
			('600998.SH', '2024-06-06', 8.2, 8.4, 8, 8.4, 8, 0.4, 5, 100, 840),
			('600998.SH', '2024-06-07', 8.4, 8.6, 8.3, 8.5, 8.4, 0.1, 1.19, 100, 850)`,
		`INSERT INTO adj_factor (ts_code, trade_date, adj_factor) VALUES
			('600998.SH', '2024-06-03', 1.0), ('600998.SH', '2024-06-04', 1.25),
			('600998.SH', '2024-06-05', 1.25), ('600998.SH', '2024-06-06', 1.25)`,
		`INSERT INTO daily_basic (ts_code, trade_date, pe_ttm, pb, turnover_rate) VALUES
			('600998.SH', '2024-06-03', 20, 2, 1.5), ('600998.SH', '2024-06-04', 16, 1.6, NULL)`,
		`INSERT INTO trade_calendar (day, open, source)
			SELECT d::date, extract(isodow FROM d) < 6, 'test' FROM generate_series('2024-06-01'::date, '2024-06-09', '1 day') d
			ON CONFLICT (day) DO UPDATE SET open = excluded.open`,
		`INSERT INTO coverage (dataset, day, rows) SELECT 'daily', d::date, 1 FROM generate_series('2024-06-03'::date, '2024-06-07', '1 day') d`,
		`INSERT INTO stock_basic (ts_code, symbol, name, cnspell, industry, market, exchange, list_status, list_date) VALUES
			('600998.SH', '600998', '九州通', 'jzt', '医药商业', '主板', 'SSE', 'L', '2010-11-02')`,
	} {
		_, err := pool.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
}

func june(day int) time.Time { return time.Date(2024, 6, day, 0, 0, 0, 0, time.UTC) }

// TestBarsAdjustedAcrossADividend checks raw, qfq and hfq bars against prices worked out
// by hand.
func TestBarsAdjustedAcrossADividend(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	dividendStock(t, pool)
	w := NewWarehouse(pool)
	closes := func(adj market.Adjust, start, end int) map[string]float64 {
		bars, err := w.Bars(context.Background(), market.BarQuery{TSCode: "600998.SH", Start: june(start), End: june(end), Adjust: adj})
		require.NoError(t, err)
		out := map[string]float64{}
		for _, b := range bars {
			out[b.Date] = b.Close
		}
		return out
	}
	// Raw: as traded, the day without a factor included.
	require.Equal(t, map[string]float64{"2024-06-03": 10, "2024-06-04": 8, "2024-06-06": 8.4, "2024-06-07": 8.5},
		closes(market.AdjustRaw, 1, 30))
	// hfq = raw × factor: 10 × 1.0, 8 × 1.25 = 10 (no jump at the dividend), 8.4 × 1.25 = 10.5.
	require.InDeltaMapValues(t, map[string]float64{"2024-06-03": 10, "2024-06-04": 10, "2024-06-06": 10.5},
		closes(market.AdjustHFQ, 1, 30), 1e-9)
	// qfq = raw × factor ÷ latest factor (1.25): 10 × 1.0 ÷ 1.25 = 8, 8, 8.4; the latest
	// factor is the stock's, also when the range ends before it.
	require.InDeltaMapValues(t, map[string]float64{"2024-06-03": 8, "2024-06-04": 8, "2024-06-06": 8.4},
		closes(market.AdjustQFQ, 1, 30), 1e-9)
	require.InDeltaMapValues(t, map[string]float64{"2024-06-03": 8}, closes(market.AdjustQFQ, 3, 3), 1e-9)

	bars, err := w.Bars(context.Background(), market.BarQuery{TSCode: "600998.SH", Start: june(4), End: june(4), Adjust: market.AdjustHFQ})
	require.NoError(t, err)
	require.Len(t, bars, 1)
	require.InDelta(t, 10.0, bars[0].Open, 1e-9)
	require.InDelta(t, 8.5*1.25, bars[0].High, 1e-9)
	require.InDelta(t, 7.5*1.25, bars[0].Low, 1e-9)
	require.InDelta(t, 1.25, *bars[0].Factor, 1e-9)
	require.InDelta(t, 100.0, *bars[0].Vol, 1e-9, "volumes are not adjusted")
}

func TestChartHasMetricsGapsAndFactorChanges(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	dividendStock(t, pool)
	w := NewWarehouse(pool)
	ch, err := w.Chart(context.Background(), market.BarQuery{TSCode: "600998.SH", Start: june(1), End: june(30), Adjust: market.AdjustQFQ})
	require.NoError(t, err)
	require.Equal(t, []string{"2024-06-03", "2024-06-04", "2024-06-06"}, ch.Dates)
	require.Equal(t, []string{"2024-06-05"}, ch.Suspended, "a loaded trading day without the stock's row")
	require.Equal(t, []market.FactorChange{{Date: "2024-06-04", From: 1, To: 1.25, Factor: 1.25}}, ch.FactorChanges)
	pe := ch.Metrics[market.MetricPETTM]
	require.Len(t, pe, 3)
	require.Equal(t, 20.0, *pe[0])
	require.Nil(t, ch.Metrics[market.MetricTurnover][1])
	require.Nil(t, pe[2], "no daily_basic row that day")

	// A range that starts on the ex-date still sees the step from the day before.
	ch, err = w.Chart(context.Background(), market.BarQuery{TSCode: "600998.SH", Start: june(4), End: june(6), Adjust: market.AdjustRaw})
	require.NoError(t, err)
	require.Len(t, ch.FactorChanges, 1)
	ch, err = w.Chart(context.Background(), market.BarQuery{TSCode: "600998.SH", Start: june(5), End: june(30), Adjust: market.AdjustRaw})
	require.NoError(t, err)
	require.Empty(t, ch.FactorChanges)
	require.Equal(t, []string{"2024-06-06", "2024-06-07"}, ch.Dates)
	require.Empty(t, ch.Suspended, "the days before the first bar of the range are not gaps")
}

func TestSearchStocksRanksCodesInitialsNames(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	_, err := pool.Exec(context.Background(), `
		INSERT INTO stock_basic (ts_code, symbol, name, cnspell, list_status) VALUES
			('600519.SH', '600519', '贵州茅台', 'gzmt', 'L'),
			('600518.SH', '600518', 'ST康美', 'stkm', 'L'),
			('000858.SZ', '000858', '五粮液', 'wly', 'L'),
			('600600.SH', '600600', '青岛啤酒', 'qdpj', 'L'),
			('601519.SH', '601519', '大智慧', 'dzh', 'L'),
			('000100.SZ', '000100', 'TCL科技', 'tclkj', 'L'),
			('600100.SH', '600100', '茅台之友', 'mtzy', 'D')`)
	require.NoError(t, err)
	w := NewWarehouse(pool)
	codes := func(q string) []string {
		got, err := w.SearchStocks(context.Background(), q, 10)
		require.NoError(t, err)
		var out []string
		for _, s := range got {
			out = append(out, s.TSCode)
		}
		return out
	}
	require.Equal(t, []string{"600519.SH"}, codes("600519"))
	require.Equal(t, []string{"600519.SH"}, codes("600519.sh"))
	require.Equal(t, []string{"600518.SH", "600519.SH"}, codes("6005"))
	require.Equal(t, []string{"600519.SH"}, codes("GZMT"))
	require.Equal(t, []string{"600519.SH"}, codes("贵州茅台"))
	// A name that starts with it (delisted, still found), then one containing it.
	require.Equal(t, []string{"600100.SH", "600519.SH"}, codes("茅台"))
	require.Equal(t, []string{"000100.SZ"}, codes("tcl"))
	require.Empty(t, codes("%"), "wildcards are plain characters")
	require.Empty(t, codes("  "))
	got, err := w.SearchStocks(context.Background(), "6", 2)
	require.NoError(t, err)
	require.Len(t, got, 2, "at most limit")
	require.Equal(t, "贵州茅台", got[1].Name)
}

func TestExportCSVStreamsTheBars(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	dividendStock(t, pool)
	var buf bytes.Buffer
	n, err := NewWarehouse(pool).ExportCSV(context.Background(), &buf,
		market.BarQuery{TSCode: "600998.SH", Start: june(1), End: june(4), Adjust: market.AdjustHFQ})
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Equal(t, "ts_code,trade_date,open,high,low,close,pre_close,change,pct_chg,vol,amount,adj_factor", lines[0])
	require.Equal(t, "600998.SH,2024-06-04,10,10.625,9.375,10,12.5,-2.5,-20,100,800,1.25", lines[2])
}
