package baostock_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/metrics"
	"github.com/marketsync/marketsync/internal/metrics/metricstest"
	"github.com/marketsync/marketsync/internal/source/baostock"
	"github.com/marketsync/marketsync/internal/source/baostock/baostocktest"
)

func TestCallsAreCountedByMethod(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	srv, c := setup(t, baostocktest.Config{}, baostock.Config{Metrics: metrics.New(reg)})
	_, err := c.TradeDates(context.Background(), date("2024-01-02"), date("2024-01-31"))
	require.NoError(t, err)
	_, err = c.TradeDates(context.Background(), date("2024-02-01"), date("2024-02-29"))
	require.NoError(t, err)

	s := metricstest.Gather(t, reg)
	pages := float64(srv.Stats().Calls[baostock.TypeTradeDates]) // each query ends with an empty page
	require.GreaterOrEqual(t, pages, 2.0)
	require.Equal(t, 1.0, s.Value("marketsync_upstream_calls_total", "source", "baostock", "api", "login"))
	require.Equal(t, pages, s.Value("marketsync_upstream_calls_total", "source", "baostock", "api", "query_trade_dates"))
	require.Equal(t, pages+1, s.Value("marketsync_upstream_call_duration_seconds", "source", "baostock"))
	require.Equal(t, 0.0, s.Value("marketsync_upstream_errors_total"))
}

func TestRefusalsAreCountedAsErrors(t *testing.T) {
	t.Parallel()
	srv, first := setup(t, baostocktest.Config{BlacklistAfter: 1, BlacklistAll: true}, baostock.Config{})
	require.NoError(t, first.Login(context.Background()))
	reg := prometheus.NewRegistry()
	second := baostock.New(&baostock.Config{Addr: srv.Addr(), Metrics: metrics.New(reg)})
	defer second.Close()
	for range 2 {
		_, err := second.TradeDates(context.Background(), date("2024-01-01"), date("2024-01-03"))
		require.ErrorIs(t, err, market.ErrSourceRefused)
	}
	s := metricstest.Gather(t, reg)
	require.Equal(t, 1.0, s.Value("marketsync_upstream_calls_total", "source", "baostock"),
		"the login, refused; the second answer comes from the client itself")
	require.Equal(t, 1.0, s.Value("marketsync_upstream_errors_total", "source", "baostock", "api", "login"))
}
