package handlers_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/metrics/metricstest"
)

// scrape reads /metrics, header pairs sent along.
func (e *env) scrape(t *testing.T, header ...string) metricstest.Scrape {
	t.Helper()
	r := e.do(t, "GET", "/metrics", nil, header...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.header.Get("Content-Type"), "text/plain")
	return metricstest.Parse(t, r.body)
}

func TestMetricsMoveWithABatch(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	before := e.scrape(t)
	require.Equal(t, 1.0, before.Value("marketsync_up"), "PostgreSQL answered")
	require.True(t, before.Has("go_goroutines"), "the runtime's metrics too")

	id := e.start(t, `{"start_date":"2024-04-08","end_date":"2024-04-12","force":true}`)
	require.Equal(t, "completed", string(e.wait(t, id).Status))
	after := e.scrape(t)
	demoDaily := []string{"dataset", "daily", "source", "demo"}
	require.Greater(t, after.Value("marketsync_rows_loaded_total", demoDaily...),
		before.Value("marketsync_rows_loaded_total", demoDaily...))
	require.GreaterOrEqual(t, after.Value("marketsync_day_duration_seconds", append(demoDaily, "status", "succeeded")...),
		before.Value("marketsync_day_duration_seconds", append(demoDaily, "status", "succeeded")...)+5, "five trading days")
	require.Equal(t, before.Value("marketsync_batches", "status", "completed")+1,
		after.Value("marketsync_batches", "status", "completed"))
	require.True(t, after.Has("marketsync_queue_days"))
	require.True(t, after.Has("marketsync_days", "status", "pending"))
}

func TestMetricsCountWebSocketClients(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	addr := e.listen(t)
	require.Equal(t, 0.0, e.scrape(t).Value("marketsync_websocket_clients"))

	v := watch(t, addr, "/ws/dashboard")
	_ = v.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, _, err := v.conn.ReadMessage() // the dashboard's first push
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		s := e.scrape(t)
		return s.Value("marketsync_websocket_clients") == 1 && s.Value("marketsync_push_latency_seconds") >= 1
	}, 30*time.Second, 20*time.Millisecond, "one client, its first push timed")

	require.NoError(t, v.conn.Close())
	require.Eventually(t, func() bool { return e.scrape(t).Value("marketsync_websocket_clients") == 0 },
		30*time.Second, 20*time.Millisecond, "the client left")
}

func TestMetricsAskForTheTokenWhenOneIsSet(t *testing.T) {
	t.Parallel()
	e := setup(t, options{metricsToken: "scrape-s3cret"})
	for _, header := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "scrape-s3cret"}} {
		r := e.do(t, "GET", "/metrics", nil, header...)
		require.Equal(t, 401, r.status, header)
		require.NotContains(t, r.body, "marketsync_up")
		require.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer")
	}
	require.Equal(t, 1.0, e.scrape(t, "Authorization", "Bearer scrape-s3cret").Value("marketsync_up"))
}

func TestMetricsAnswerAnyoneWithoutAToken(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	require.True(t, e.scrape(t).Has("marketsync_up"))
}
