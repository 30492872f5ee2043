package metrics_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/metrics"
	"github.com/marketsync/marketsync/internal/metrics/metricstest"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m, "metrics", store.Migrate) }

func TestNilMetricsRecordNothing(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	m.DayDone("daily", "demo", "succeeded", 10, time.Second)
	m.UpstreamCall("tushare", "daily", time.Second, errors.New("boom"))
	m.RateLimitWait("tushare", "daily", time.Second)
	m.ClientJoined()
	m.ClientLeft()
	m.Pushed(time.Millisecond)
}

func TestHandlesRecord(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.DayDone("daily", "demo", "succeeded", 10, time.Second)
	m.DayDone("daily", "demo", "failed", 0, time.Second)
	m.UpstreamCall("tushare", "daily", 10*time.Millisecond, nil)
	m.UpstreamCall("tushare", "daily", 10*time.Millisecond, errors.New("boom"))
	m.UpstreamCall("tushare", "daily", 10*time.Millisecond, context.Canceled)
	m.RateLimitWait("tushare", "daily", 0)
	m.RateLimitWait("tushare", "daily", 500*time.Millisecond)
	m.ClientJoined()
	m.ClientJoined()
	m.ClientLeft()
	m.Pushed(time.Millisecond)

	s := metricstest.Gather(t, reg)
	require.Equal(t, 10.0, s.Value("marketsync_rows_loaded_total", "dataset", "daily", "source", "demo"))
	require.Equal(t, 2.0, s.Value("marketsync_day_duration_seconds", "dataset", "daily"))
	require.Equal(t, 1.0, s.Value("marketsync_day_duration_seconds", "status", "failed"))
	require.Equal(t, 3.0, s.Value("marketsync_upstream_calls_total", "source", "tushare", "api", "daily"))
	require.Equal(t, 3.0, s.Value("marketsync_upstream_call_duration_seconds", "source", "tushare"))
	require.Equal(t, 1.0, s.Value("marketsync_upstream_errors_total", "api", "daily"), "a cancellation is no error")
	require.Equal(t, 1.0, s.Value("marketsync_ratelimit_waits_total", "api", "daily"), "a wait of zero is none")
	require.Equal(t, 0.5, s.Value("marketsync_ratelimit_wait_seconds_total", "api", "daily"))
	require.Equal(t, 1.0, s.Value("marketsync_websocket_clients"))
	require.Equal(t, 1.0, s.Value("marketsync_push_latency_seconds"))
}

// addBatch inserts a batch in status with days in the given states.
func addBatch(t *testing.T, pool *pgxpool.Pool, taskID, status string, days ...string) {
	t.Helper()
	ctx := context.Background()
	var id int64
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO batches (task_id, datasets, start_date, end_date, status, queue, total, trading_days, created_by)
		VALUES ($1, '{daily}', '2025-01-01', '2025-01-31', $2, 'default', $3, $3, 'cli') RETURNING id`,
		taskID, status, len(days)).Scan(&id))
	for i, st := range days {
		_, err := pool.Exec(ctx, `INSERT INTO batch_days (batch_id, dataset, day, trading, status)
			VALUES ($1, 'daily', '2025-01-01'::date + $2::int, true, $3)`, id, i, st)
		require.NoError(t, err)
	}
}

func TestStateComesFromPostgreSQL(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(context.Background(), pgtest.NewDB(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewStateCollector(store.Stats{DB: pool}))

	s := metricstest.Gather(t, reg)
	require.Equal(t, 1.0, s.Value("marketsync_up"))
	require.True(t, s.Has("marketsync_batches", "status", "completed"), "every state, zero included")
	require.Equal(t, 0.0, s.Value("marketsync_batches"))
	require.True(t, s.Has("marketsync_queue_days"))

	addBatch(t, pool, "running", "running", "succeeded", "running", "pending", "pending")
	addBatch(t, pool, "paused", "paused", "succeeded", "pending")
	addBatch(t, pool, "done", "completed", "succeeded", "failed")
	s = metricstest.Gather(t, reg)
	require.Equal(t, 1.0, s.Value("marketsync_batches", "status", "running"))
	require.Equal(t, 1.0, s.Value("marketsync_batches", "status", "completed"))
	require.Equal(t, 3.0, s.Value("marketsync_batches"))
	require.Equal(t, 3.0, s.Value("marketsync_days", "status", "pending"), "days of unfinished batches")
	require.Equal(t, 2.0, s.Value("marketsync_days", "status", "succeeded"))
	require.Equal(t, 0.0, s.Value("marketsync_days", "status", "failed"), "a finished batch's days are left out")
	require.Equal(t, 2.0, s.Value("marketsync_queue_days"), "a paused batch's days are out of the queue")
	require.Equal(t, 1.0, s.Value("marketsync_up"))
}

func TestScrapeAnswersWhenTheDatabaseIsDown(t *testing.T) {
	t.Parallel()
	// A port where nothing listens: every connection is refused at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+addr+"/none?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	reg.MustRegister(metrics.NewStateCollector(store.Stats{DB: pool}))
	m.DayDone("daily", "demo", "succeeded", 5, time.Second)

	s := metricstest.Gather(t, reg) // fails the test on a gathering error
	require.Equal(t, 0.0, s.Value("marketsync_up"))
	require.True(t, s.Has("marketsync_up"))
	require.Equal(t, 1.0, s.Value("marketsync_state_scrape_errors_total"))
	require.False(t, s.Has("marketsync_batches"))
	require.Equal(t, 5.0, s.Value("marketsync_rows_loaded_total"), "the in-process metrics are there")
}
