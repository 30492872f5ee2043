package store

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m, "store") }

// setup returns a pool on the package's migrated database.
func setup(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := Open(ctx, pgtest.URL(t), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = Migrate(ctx, pool)
	require.NoError(t, err)
	return pool
}

func TestTablesMatchTheDatasets(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	for _, ds := range append(market.Datasets(), market.StockBasic()) {
		rows, err := pool.Query(ctx, `
			SELECT a.attname, format_type(a.atttypid, a.atttypmod), coalesce(col_description(a.attrelid, a.attnum), '')
			FROM pg_attribute a
			WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
			ORDER BY a.attnum`, ds.Table)
		require.NoError(t, err)
		var got []market.Column
		for rows.Next() {
			var c market.Column
			require.NoError(t, rows.Scan(&c.Name, &c.Type, &c.Unit))
			got = append(got, c)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, ds.Columns, got, "table %s: columns, types and COMMENT ON COLUMN units", ds.Table)

		var key []string
		require.NoError(t, pool.QueryRow(ctx, `
			SELECT array_agg(a.attname ORDER BY k.i)
			FROM pg_index x CROSS JOIN unnest(x.indkey) WITH ORDINALITY k(attnum, i)
			JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
			WHERE x.indrelid = $1::regclass AND x.indisprimary`, ds.Table).Scan(&key))
		require.Equal(t, ds.Key, key, "table %s: primary key", ds.Table)
	}
}
