package tushare_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/source/tushare"
	"github.com/marketsync/marketsync/internal/source/tushare/tusharetest"
	"github.com/marketsync/marketsync/internal/store"
)

// Two clients in two "processes" (two pools) share the account's limit through the
// database: together they never exceed it, so the server refuses nothing.
func TestLimiterKeepsTwoClientsUnderTheLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A window of one second stands for Tushare's minute, to keep the test short.
	period := &store.RateLimiterConfig{Period: time.Second}
	// Five a second: the clients space calls 250ms apart (95% of the limit, rounded
	// down), so even a 250ms hiccup on the way cannot bring six calls into one window.
	limits := map[string]int{"daily": 5}
	sizes := map[string]int{"daily": 2000}
	srv, _ := setup(t, &tusharetest.Config{Cap: 2000, Limits: limits, Window: time.Second}, tushare.Config{})
	var clients []*tushare.Source
	db := pgtest.NewDB(t)
	for range 2 {
		pool, err := store.Open(ctx, db, 2)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		src, err := tushare.New(store.NewRateLimiter(pool, period), &tushare.Config{
			Token: tushare.Secret(srv.Token), URL: srv.URL, Limits: limits, PageSizes: sizes})
		require.NoError(t, err)
		clients = append(clients, src)
	}
	days := []string{"2024-07-01", "2024-07-02", "2024-07-03", "2024-07-04"}
	want := make([]int, len(days))
	for i, d := range days {
		want[i] = len(demoRows(t, dataset(t, "daily"), date(d)))
	}
	got := make([]int, len(days))
	var wg sync.WaitGroup
	for i, d := range days {
		wg.Go(func() {
			rs, err := clients[i%2].Fetch(ctx, dataset(t, "daily"), date(d))
			if assert.NoError(t, err) {
				got[i] = rs.(interface{ Len() int }).Len()
			}
		})
	}
	wg.Wait()
	require.Equal(t, want, got)
	st := srv.Stats("daily")
	require.Zero(t, st.Refused, "never over the limit")
	require.Equal(t, st.Calls, st.Served)
	require.GreaterOrEqual(t, st.Served, 4*3)
}
