package handlers_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/app"
	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
)

func TestMalformedTaskIDsAndPagesAre400(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	for _, path := range []string{
		"/api/v1/sync-status/sync/batch/progress/a%00b",
		"/api/v1/sync-status/sync/batch/progress/%ff%fe",
		"/api/v1/sync-status/sync/batch/a%00b/errors",
		"/batches/a%00b",
		"/batches/%c3%28",
		"/batches/x/errors?page=99999999999999999999",
		"/batches?page=-1",
		"/batches?page=abc",
		"/batches?page=9223372036854775807",
	} {
		r := e.do(t, "GET", path, nil)
		require.Equal(t, 400, r.status, "%s: %s", path, r.body)
	}
	r := e.do(t, "POST", "/api/v1/sync-status/sync/batch/a%00b/cancel", nil)
	require.Equal(t, 400, r.status, r.body)
}

func TestDatabaseOutageAnswers503(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proxy := pgtest.NewProxy(t, pgtest.NewDB(t))
	pool, err := pgxpool.New(ctx, proxy.URL())
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	proxy.Down()
	// The app on a database that has gone away (it was migrated first).
	a, err := app.New(ctx, &app.Config{Pool: pool, Auth: auth.Config{Anonymous: market.RoleOperator}, Engine: engine.Config{Parallelism: -1}})
	require.NoError(t, err)
	t.Cleanup(a.Hub.Shutdown)
	e := &env{app: a.HTTP}
	for _, path := range []string{"/api/v1/sync-status/sync/batches", "/api/v1/sync-status/sync/batch/progress/x", "/healthz"} {
		r := e.do(t, "GET", path, nil)
		require.Equal(t, 503, r.status, "%s: %s", path, r.body)
	}
	r := e.do(t, "POST", "/api/v1/sync-status/sync/batch", `{"start_date":"2025-06-02","end_date":"2025-06-02"}`)
	require.Equal(t, 503, r.status, r.body)
	require.Contains(t, r.json(t).Message, "database is unavailable")
	r = e.do(t, "GET", "/", nil)
	require.Equal(t, 503, r.status)
	require.Contains(t, r.body, "database is unavailable")

	// Back up: answers again.
	proxy.Up()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = e.do(t, "GET", "/api/v1/sync-status/sync/batches", nil)
		if r.status == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, 200, r.status, r.body)
}
