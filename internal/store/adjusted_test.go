package store

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestAdjustedPricesAcrossADividend checks the qfq and hfq views against prices worked
// out by hand: a stock whose factor steps from 1.0 to 1.25 at an ex-date (a dividend of
// a fifth of its price), and a later day with no factor change.
func TestAdjustedPricesAcrossADividend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := setup(t)
	_, err := pool.Exec(ctx, `
		INSERT INTO daily_bar (ts_code, trade_date, open, high, low, close, pre_close, change, pct_chg, vol, amount) VALUES
			('600999.SH', '2024-06-03', 10, 11, 9, 10, 10, 0, 0, 100, 1000),
			('600999.SH', '2024-06-04', 8, 8.5, 7.5, 8, 10, -2, -20, 100, 800),
			('600999.SH', '2024-06-05', 8.2, 8.4, 8, 8.4, 8, 0.4, 5, 100, 840)`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `
		INSERT INTO adj_factor (ts_code, trade_date, adj_factor) VALUES
			('600999.SH', '2024-06-03', 1.0), ('600999.SH', '2024-06-04', 1.25), ('600999.SH', '2024-06-05', 1.25)`)
	require.NoError(t, err)

	read := func(view string) map[string]float64 {
		rows, err := pool.Query(ctx, "SELECT trade_date::text, close FROM "+pgx.Identifier{view}.Sanitize()+
			" WHERE ts_code = '600999.SH' AND trade_date BETWEEN '2024-06-03' AND '2024-06-04' ORDER BY trade_date")
		require.NoError(t, err)
		out := map[string]float64{}
		var d string
		var c float64
		_, err = pgx.ForEachRow(rows, []any{&d, &c}, func() error { out[d] = c; return nil })
		require.NoError(t, err)
		return out
	}
	// hfq: raw × factor. 10 × 1.0 = 10 before the ex-date, 8 × 1.25 = 10 on it: no jump.
	require.InDeltaMapValues(t, map[string]float64{"2024-06-03": 10, "2024-06-04": 10}, read("daily_hfq"), 1e-9)
	// qfq: raw × factor ÷ latest factor (1.25, of 06-05, outside the range asked for):
	// 10 × 1.0 ÷ 1.25 = 8 before the ex-date, 8 on it.
	require.InDeltaMapValues(t, map[string]float64{"2024-06-03": 8, "2024-06-04": 8}, read("daily_qfq"), 1e-9)
}
