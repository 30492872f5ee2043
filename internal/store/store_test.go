package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/source/demo"
)

func TestMain(m *testing.M) { pgtest.Main(m, "store", Migrate) }

// setup returns a pool on a migrated database of the test's own.
func setup(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return open(t, pgtest.NewDB(t))
}

// open returns another pool on url: another process, as far as PostgreSQL can tell.
func open(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := Open(context.Background(), url, 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
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

func TestDemoDaysLoadIntoEveryTable(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	cal, err := calendar.New()
	require.NoError(t, err)
	src := demo.New(cal, demo.Config{Now: func() time.Time { return cal.Last().AddDate(0, 0, 1) }})
	day := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, ds := range market.Datasets() {
		rows, err := src.Fetch(ctx, ds, day)
		require.NoError(t, err)
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			n, err := ReplaceDay(ctx, tx, DayLoad{Dataset: ds, Day: day, Source: "demo"}, rows)
			require.Greater(t, n, int64(5000), ds.Name)
			return err
		})
		require.NoError(t, err, ds.Name)
	}
	var nullPE, rows int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pe IS NULL), count(*)
		FROM daily_basic b JOIN daily_bar d USING (trade_date, ts_code)
		WHERE trade_date = $1 AND b.close = d.close`, day).Scan(&nullPE, &rows))
	require.Greater(t, rows, 5000)
	require.Positive(t, nullPE)

	list, err := src.StockBasic(ctx)
	require.NoError(t, err)
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { // a snapshot is replaced whole
		if _, err := tx.Exec(ctx, "DELETE FROM stock_basic"); err != nil {
			return err
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"stock_basic"}, market.StockBasic().ColumnNames(), list)
		require.EqualValues(t, len(src.Stocks()), n)
		return err
	})
	require.NoError(t, err)
}

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, refused := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:1/marketsync?connect_timeout=5")
	require.Error(t, refused)
	pool := setup(t)
	_, syntax := pool.Exec(ctx, "SELEC 1")
	require.Error(t, syntax)
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{refused, true},
		{fmt.Errorf("loading: %w", refused), true},
		{&pgconn.PgError{Code: "57P01"}, true}, // admin shutdown
		{&pgconn.PgError{Code: "08006"}, true}, // connection failure
		{io.ErrUnexpectedEOF, true},
		{syntax, false},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation
		{context.Canceled, false},
		{errors.New("boom"), false},
	} {
		require.Equal(t, c.want, IsUnavailable(c.err), "%v", c.err)
	}
}

// FinalizeLostJob ends a running job as River itself reads an ended job.
func TestLostJobsAreFinalized(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	insert := func(state string) int64 {
		res, err := rc.Insert(ctx, lostArgs{}, nil)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `UPDATE river_job SET state = $2::river_job_state, attempt = 1, attempted_at = now(),
			attempted_by = ARRAY['marketsync-w1'],
			finalized_at = CASE WHEN $2::text = 'running' THEN NULL ELSE now() END WHERE id = $1`, res.Job.ID, state)
		require.NoError(t, err)
		return res.Job.ID
	}
	running, completed := insert("running"), insert("completed")
	require.NoError(t, FinalizeLostJob(ctx, pool, running))
	require.NoError(t, FinalizeLostJob(ctx, pool, completed))
	job, err := rc.JobGet(ctx, running)
	require.NoError(t, err)
	require.Equal(t, rivertype.JobStateCancelled, job.State)
	require.NotNil(t, job.FinalizedAt)
	job, err = rc.JobGet(ctx, completed)
	require.NoError(t, err)
	require.Equal(t, rivertype.JobStateCompleted, job.State, "only a running job is finalized")
}

type lostArgs struct{}

func (lostArgs) Kind() string { return "store_test_lost" }
