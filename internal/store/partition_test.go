package store

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
)

// beforePartitions is the last migration before the data tables were partitioned.
const beforePartitions = "018_webhooks"

// sampleRows inserts one row of every data table on each of dates (a year before the
// first partition, a partitioned one, one past the last) for two stocks.
func sampleRows(t *testing.T, pool *pgxpool.Pool, dates ...string) {
	t.Helper()
	ctx := context.Background()
	for i, d := range dates {
		for j, code := range []string{"600000.SH", "000001.SZ"} {
			v := float64(10 + i + j)
			_, err := pool.Exec(ctx, `
				INSERT INTO daily_bar (ts_code, trade_date, open, high, low, close, pre_close, change, pct_chg, vol, amount)
				VALUES ($1, $2, $3, $3, $3, $3, $3, 0, 0, 100, 1000)`, code, d, v)
			require.NoError(t, err)
			_, err = pool.Exec(ctx, `INSERT INTO adj_factor (ts_code, trade_date, adj_factor) VALUES ($1, $2, $3)`, code, d, 1+float64(i)/10)
			require.NoError(t, err)
			_, err = pool.Exec(ctx, `INSERT INTO daily_basic (ts_code, trade_date, close, pe) VALUES ($1, $2, $3, $3)`, code, d, v)
			require.NoError(t, err)
		}
	}
}

// where returns, per dataset table, "date code partition" of every row in key order.
func where(t *testing.T, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, ds := range market.Datasets() {
		rows, err := pool.Query(context.Background(), "SELECT trade_date::text || ' ' || ts_code || ' ' || tableoid::regclass::text FROM "+
			pgx.Identifier{ds.Table}.Sanitize()+" ORDER BY trade_date, ts_code")
		require.NoError(t, err)
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		out[ds.Table] = got
	}
	return out
}

// adjusted reads both adjusted views whole.
func adjusted(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT format('hfq %s %s %s', ts_code, trade_date, close) FROM daily_hfq
		UNION ALL SELECT format('qfq %s %s %s', ts_code, trade_date, close) FROM daily_qfq ORDER BY 1`)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return got
}

func TestDataTablesArePartitionedByYear(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	sampleRows(t, pool, "1989-12-29", "2024-06-03", "2036-01-02")
	for _, ds := range market.Datasets() {
		var kind string
		var parts, indexes int
		require.NoError(t, pool.QueryRow(ctx, `
			SELECT c.relkind::text, count(i.inhrelid),
				(SELECT count(*) FROM pg_inherits ii JOIN pg_index x ON x.indexrelid = ii.inhrelid
				 WHERE ii.inhparent IN (SELECT indexrelid FROM pg_index WHERE indrelid = c.oid))
			FROM pg_class c LEFT JOIN pg_inherits i ON i.inhparent = c.oid
			WHERE c.oid = $1::regclass GROUP BY c.oid, c.relkind`, ds.Table).Scan(&kind, &parts, &indexes))
		require.Equal(t, "p", kind, ds.Table)
		require.Equal(t, 2035-1990+1+1, parts, "%s: one partition a year 1990-2035, and DEFAULT", ds.Table)
		require.Equal(t, 2*parts, indexes, "%s: every partition has the key and the (ts_code, trade_date) index", ds.Table)
	}
	require.Equal(t, []string{
		"1989-12-29 000001.SZ daily_bar_default", "1989-12-29 600000.SH daily_bar_default",
		"2024-06-03 000001.SZ daily_bar_2024", "2024-06-03 600000.SH daily_bar_2024",
		"2036-01-02 000001.SZ daily_bar_default", "2036-01-02 600000.SH daily_bar_default",
	}, where(t, pool)["daily_bar"])
}

// TestDaySwapTouchesOnePartition explains the day swap's DELETE and the day page's read
// as prepared statements. A custom plan (what a statement gets while its generic plan
// would cost more, as it does here) names the day's partition alone; a generic plan
// still lists every partition as a target of the DELETE (PostgreSQL 15 opens them all)
// but prunes its scans to that one partition when it runs.
func TestDaySwapTouchesOnePartition(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	partition := regexp.MustCompile(`(daily_bar|adj_factor|daily_basic)_(\d{4}|default)\b`)
	scanned := regexp.MustCompile(`Scan .*on ((daily_bar|adj_factor|daily_basic)_(\d{4}|default))\b`)
	touched := func(mode, plan string) []string {
		if mode == "force_generic_plan" {
			var out []string
			for _, m := range scanned.FindAllStringSubmatch(plan, -1) {
				out = append(out, m[1])
			}
			return out
		}
		return partition.FindAllString(plan, -1)
	}
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		_, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode)
		require.NoError(t, err)
		for _, ds := range market.Datasets() {
			plan := explain(t, conn, "DELETE FROM "+pgx.Identifier{ds.Table}.Sanitize()+" WHERE trade_date = $1", "2024-06-03")
			got := touched(mode, plan)
			require.NotEmpty(t, got, plan)
			for _, p := range got {
				require.Equal(t, ds.Table+"_2024", p, "%s, %s:\n%s", ds.Table, mode, plan)
			}
		}
		plan := explain(t, conn, `SELECT b.ts_code, b.close, d.pe FROM daily_bar b
			LEFT JOIN daily_basic d ON d.ts_code = b.ts_code AND d.trade_date = b.trade_date
			WHERE b.trade_date = $1 ORDER BY b.amount DESC LIMIT 50`, "2024-06-03")
		got := touched(mode, plan)
		require.NotEmpty(t, got, plan)
		for _, p := range got {
			require.Contains(t, []string{"daily_bar_2024", "daily_basic_2024"}, p, "the day page, %s:\n%s", mode, plan)
		}
	}
}

// explain runs EXPLAIN (ANALYZE) of a prepared statement with one argument and returns
// the plan of what ran: a generic plan lists only the partitions left after pruning.
func explain(t *testing.T, conn *pgxpool.Conn, sql, arg string) string {
	t.Helper()
	ctx := context.Background()
	_, err := conn.Exec(ctx, "PREPARE explained(date) AS "+sql)
	require.NoError(t, err)
	defer conn.Exec(ctx, "DEALLOCATE explained")
	rows, err := conn.Query(ctx, fmt.Sprintf("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE explained('%s')", arg))
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	plan := ""
	for _, l := range lines {
		plan += l + "\n"
	}
	return plan
}

func TestStageTablesCanBeCreatedLikeAPartitionedTable(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `CREATE UNLOGGED TABLE stage_like_test (batch_id bigint NOT NULL, LIKE daily_bar)`)
	require.NoError(t, err)
	var kind, persistence string
	var cols int
	require.NoError(t, pool.QueryRow(ctx, `SELECT relkind::text, relpersistence::text, relnatts FROM pg_class WHERE oid = 'stage_like_test'::regclass`).
		Scan(&kind, &persistence, &cols))
	require.Equal(t, []any{"r", "u", 1 + len(market.Datasets()[0].Columns)}, []any{kind, persistence, cols},
		"a plain unlogged table with daily_bar's columns")
}

// TestPartitioningMovesExistingRows migrates a database to just before the partitions,
// fills it, and migrates the rest: every row lands in its year's partition (or DEFAULT),
// the adjusted views give what they gave, the comments stay.
func TestPartitioningMovesExistingRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.EmptyDB(t)
	require.NoError(t, EnsureDatabase(ctx, url))
	pool := open(t, url)
	_, err := migrateThrough(ctx, pool, beforePartitions)
	require.NoError(t, err)
	sampleRows(t, pool, "1989-12-29", "2006-01-04", "2024-06-03", "2036-01-02")
	before := where(t, pool)
	views := adjusted(t, pool)
	require.Len(t, views, 16)

	applied, err := Migrate(ctx, pool)
	require.NoError(t, err)
	require.Contains(t, applied, "019_partition_by_year")
	after := where(t, pool)
	for table, rows := range before {
		require.Len(t, after[table], len(rows), table)
		for i, r := range after[table] {
			year := r[:4]
			want := table + "_" + year
			if year < "1990" || year > "2035" {
				want = table + "_default"
			}
			require.Equal(t, rows[i][:len(rows[i])-len(table)]+want, r)
		}
	}
	require.Equal(t, views, adjusted(t, pool))
	var comment string
	require.NoError(t, pool.QueryRow(ctx, `SELECT obj_description('daily_basic'::regclass, 'pg_class')`).Scan(&comment))
	require.Equal(t, "Tushare daily_basic: daily valuation, turnover and share counts", comment)
	require.NoError(t, pool.QueryRow(ctx, `SELECT obj_description('daily_qfq'::regclass, 'pg_class')`).Scan(&comment))
	require.Contains(t, comment, "forward-adjusted")
}
