package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/pgtest"
)

// migrate stands for store.Migrate: one table in the template.
func migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	_, err := pool.Exec(ctx, "CREATE TABLE migrated (n int)")
	return []string{"1"}, err
}

func TestMain(m *testing.M) { pgtest.Main(m, "pgtest", migrate) }

func exists(t *testing.T, db string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.ServerURL())
	require.NoError(t, err)
	defer conn.Close(ctx)
	cfg, err := pgx.ParseConfig(db)
	require.NoError(t, err)
	var ok bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", cfg.Database).Scan(&ok))
	return ok
}

func TestEachTestHasADatabaseOfItsOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var first string
	t.Run("first", func(t *testing.T) {
		first = pgtest.NewDB(t)
		pool := pgtest.Pool(t) // another database again
		_, err := pool.Exec(ctx, "INSERT INTO migrated VALUES (1)")
		require.NoError(t, err, "a copy of the migrated template")
		conn, err := pgx.Connect(ctx, first)
		require.NoError(t, err)
		defer conn.Close(ctx)
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM migrated").Scan(&n))
		require.Zero(t, n, "what one database holds, another does not")
	})
	require.False(t, exists(t, first), "dropped when its test ended")

	empty := pgtest.EmptyDB(t)
	require.False(t, exists(t, empty), "EmptyDB leaves the creating to the program under test")
	require.NotEqual(t, first, empty)
}
