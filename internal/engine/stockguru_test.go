package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/source/stockguru"
)

// oldSchema is the old system's table, as its schema file creates it.
const oldSchema = `CREATE TABLE daily_stock_data (
    id SERIAL PRIMARY KEY,
    stock_code VARCHAR(10) NOT NULL,
    stock_name VARCHAR(50),
    trade_date DATE NOT NULL,
    open_price DECIMAL(10, 2), close_price DECIMAL(10, 2), high_price DECIMAL(10, 2), low_price DECIMAL(10, 2),
    volume BIGINT, amount DECIMAL(20, 2), change_pct DECIMAL(10, 2), change_amount DECIMAL(10, 2),
    turnover_rate DECIMAL(10, 2), amplitude DECIMAL(10, 2),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(), updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    UNIQUE(stock_code, trade_date)
)`

// TestImportFromTheOldSystem builds the old system's table in a database of its own,
// with the rows its sync wrote (volume in shares), rows in lots, the indices and bonds
// it kept by mistake, and imports two days of it through a batch.
func TestImportFromTheOldSystem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	oldURL := pgtest.NewDB(t)
	old, err := pgx.Connect(ctx, oldURL)
	require.NoError(t, err)
	defer old.Close(ctx)
	_, err = old.Exec(ctx, oldSchema)
	require.NoError(t, err)
	_, err = old.Exec(ctx, `INSERT INTO daily_stock_data
		(stock_code, stock_name, trade_date, open_price, close_price, high_price, low_price, volume, amount,
		 change_pct, change_amount, turnover_rate) VALUES
		('600519', '贵州茅台', '2025-06-03', 1520.00, 1540.00, 1550.00, 1515.00, 3120000, 4804800000.00, 1.32, 20.00, 0.25),
		('000002', '万科A', '2025-06-03', 6.90, 7.00, 7.05, 6.88, 1000000, 700000.00, 1.45, NULL, 0.84),
		('000001', '上证指数', '2025-06-03', 3350.00, 3361.98, 3370.00, 3340.00, 41200000000, 480000000000.00, 0.43, NULL, NULL),
		('000016', '新上证综指', '2025-06-03', 2700.00, 2710.00, 2720.00, 2690.00, 9000000, 90000000000.00, 0.2, NULL, NULL),
		('399001', '深证成指', '2025-06-03', 10100.00, 10200.00, 10250.00, 10050.00, 500000000, 600000000000.00, 0.8, NULL, NULL),
		('110059', '浦发转债', '2025-06-03', 110.00, 111.00, 112.00, 109.00, 10000, 1110000.00, 0.9, NULL, NULL),
		('830799', '艾融软件', '2025-06-03', 30.00, 31.00, 31.50, 29.80, 20000, 62000000.00, 3.33, 1.00, 2.1),
		('600519', '贵州茅台', '2025-06-04', 1540.00, 1530.00, 1545.00, 1525.00, 2800000, 4284000000.00, -0.65, NULL, 0.22)`)
	require.NoError(t, err)

	src, err := stockguru.New(oldURL)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	e := setup(t, src, engine.Config{Parallelism: 2})
	snap, err := e.engine.Start(ctx, market.Spec{Start: date("2025-06-03"), End: date("2025-06-04")})
	require.NoError(t, err)
	require.Equal(t, "stockguru", snap.Source)
	require.Equal(t, "note.stockguru_qfq", snap.Notes[0].Key)
	final := e.wait(t, snap.TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status, final.Message)
	require.Equal(t, 2, final.Success)

	type bar struct {
		code                                  string
		close                                 float64
		preClose, change, pctChg, vol, amount *float64
	}
	rows, err := e.pool.Query(ctx, `SELECT ts_code, close, pre_close, change, pct_chg, vol, amount
		FROM daily_bar WHERE trade_date = '2025-06-03' ORDER BY ts_code`)
	require.NoError(t, err)
	bars, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (bar, error) {
		var b bar
		err := r.Scan(&b.code, &b.close, &b.preClose, &b.change, &b.pctChg, &b.vol, &b.amount)
		return b, err
	})
	require.NoError(t, err)
	codes := []string{}
	for _, b := range bars {
		codes = append(codes, b.code)
	}
	require.Equal(t, []string{"000002.SZ", "600519.SH", "830799.BJ"}, codes, "indices and bonds left out")
	vanke, moutai, bj := bars[0], bars[1], bars[2]
	require.InDelta(t, 10_000, *vanke.vol, 1e-9, "shares (amount = close × volume) become lots")
	require.InDelta(t, 700, *vanke.amount, 1e-9, "yuan become thousand yuan")
	require.InDelta(t, 6.90, *vanke.preClose, 1e-9, "from change_pct when change_amount is missing")
	require.InDelta(t, 0.10, *vanke.change, 1e-9)
	require.InDelta(t, 1520, *moutai.preClose, 1e-9, "close − change_amount")
	require.InDelta(t, 31_200, *moutai.vol, 1e-9)
	require.InDelta(t, 20_000, *bj.vol, 1e-9, "already lots (amount = close × volume × 100) stay")
	require.InDelta(t, 3.33, *bj.pctChg, 1e-9)

	var source string
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT source FROM coverage WHERE dataset = 'daily' AND day = '2025-06-04'`).Scan(&source))
	require.Equal(t, "stockguru", source)
}
