package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/app"
	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/metrics/metricstest"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/source/demo"
	"github.com/marketsync/marketsync/internal/source/tushare"
	"github.com/marketsync/marketsync/internal/source/tushare/tusharetest"
)

// scrape reads the app's /metrics.
func scrape(t *testing.T, a *app.App) metricstest.Scrape {
	t.Helper()
	resp, err := a.HTTP.Test(httptest.NewRequest("GET", "/metrics", nil), -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, string(body))
	return metricstest.Parse(t, string(body))
}

// A batch from a fake Tushare moves the upstream metrics, and every log line of its days
// says which day it is about.
func TestUpstreamMetricsAndDayLogsFromTushare(t *testing.T) {
	t.Parallel()
	cal, err := calendar.New()
	require.NoError(t, err)
	fake := tusharetest.New(t, &tusharetest.Config{Market: demo.New(cal, demo.Config{})})
	// 57 calls a minute (95% of 60): two days' calls in parallel wait for their slots.
	logs := &logBuffer{}
	a, err := app.New(context.Background(), &app.Config{
		Auth:        auth.Config{Anonymous: market.RoleViewer}, // scrapes without an account
		Logger:      slog.New(slog.NewJSONHandler(logs, nil)),
		DatabaseURL: pgtest.NewDB(t),
		SourceName:  "tushare",
		Tushare: &tushare.Config{URL: fake.URL, Token: tusharetest.DefaultToken,
			Limits: map[string]int{"daily": 60}},
		Engine: engine.Config{Parallelism: 2, RetryBackoff: 10 * time.Millisecond},
	})
	require.NoError(t, err)
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	daily := []string{"source", "tushare", "api", "daily"}
	before := scrape(t, a)
	fake.Inject("daily", tusharetest.FaultHTTP500, 1) // one failed attempt, retried
	snap, err := a.Engine.Start(ctx, market.Spec{Start: date("2024-04-08"), End: date("2024-04-10"), Force: true})
	require.NoError(t, err)
	wctx, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	final, err := a.Engine.Watch(wctx, snap.TaskID, 50*time.Millisecond, func(*market.Snapshot) {})
	require.NoError(t, err)
	require.Equal(t, market.BatchCompleted, final.Status, final.Message)
	require.Equal(t, 3, final.Success)

	after := scrape(t, a)
	require.GreaterOrEqual(t, after.Value("marketsync_upstream_calls_total", daily...),
		before.Value("marketsync_upstream_calls_total", daily...)+4, "three days and a retry")
	require.GreaterOrEqual(t, after.Value("marketsync_upstream_call_duration_seconds", daily...),
		before.Value("marketsync_upstream_call_duration_seconds", daily...)+4)
	require.Equal(t, before.Value("marketsync_upstream_errors_total", daily...)+1,
		after.Value("marketsync_upstream_errors_total", daily...), "the HTTP 500")
	require.Greater(t, after.Value("marketsync_ratelimit_waits_total", daily...), 0.0)
	require.Greater(t, after.Value("marketsync_ratelimit_wait_seconds_total", daily...), 0.0)
	require.Greater(t, after.Value("marketsync_rows_loaded_total", "dataset", "daily", "source", "tushare"), 0.0)
	require.GreaterOrEqual(t, after.Value("marketsync_day_duration_seconds", "source", "tushare", "status", "failed"), 1.0)

	dayLines := 0
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		msg, _ := rec["msg"].(string)
		if strings.HasPrefix(msg, "[") || strings.Contains(msg, "will retry") || strings.HasPrefix(msg, "batch completed") {
			dayLines++
			for _, key := range []string{"task_id", "dataset", "day"} {
				require.Contains(t, rec, key, line)
			}
		}
	}
	require.GreaterOrEqual(t, dayLines, 5, "three days, a retry and the batch's end")
}
