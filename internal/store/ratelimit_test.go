package store

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/pgtest"
)

func TestRateLimiterSpacesSlotsAcrossPools(t *testing.T) {
	t.Parallel()
	// Two pools stand for two processes sharing the database.
	url := pgtest.NewDB(t)
	a := NewRateLimiter(open(t, url), nil)
	b := NewRateLimiter(open(t, url), nil)
	ctx := context.Background()
	var mu sync.Mutex
	var slots []time.Time
	var wg sync.WaitGroup
	for i := range 40 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			r, err := l.Reserve(ctx, "test/spaced", 600)
			assert.NoError(t, err)
			assert.GreaterOrEqual(t, r.Delay, time.Duration(0))
			mu.Lock()
			slots = append(slots, r.At)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortFunc(slots, time.Time.Compare)
	for i := 1; i < len(slots); i++ {
		require.Equal(t, 100*time.Millisecond, slots[i].Sub(slots[i-1]), "600 a minute: one slot every 100ms")
	}
	// Another key has slots of its own.
	r, err := a.Reserve(ctx, "test/other", 600)
	require.NoError(t, err)
	require.Less(t, r.Delay, time.Second)
}

func TestRateLimiterWaitsForItsSlot(t *testing.T) {
	t.Parallel()
	period := &RateLimiterConfig{Period: time.Second}
	url := pgtest.NewDB(t)
	a, b := NewRateLimiter(open(t, url), period), NewRateLimiter(open(t, url), period)
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			l := a
			if i%2 == 1 {
				l = b
			}
			assert.NoError(t, l.Wait(ctx, "test/wait", 20)) // 20 a second: every 50ms
		})
	}
	wg.Wait()
	// Ten calls take nine intervals at least (sleeps never end early).
	require.GreaterOrEqual(t, time.Since(start), 9*50*time.Millisecond-5*time.Millisecond)

	// No limit, no wait and no row.
	require.NoError(t, a.Wait(ctx, "test/unlimited", 0))
}

func TestRateLimiterWaitEndsWithItsContext(t *testing.T) {
	t.Parallel()
	l := NewRateLimiter(setup(t), nil)
	ctx := context.Background()
	first, err := l.Reserve(ctx, "test/cancel", 1)
	require.NoError(t, err)

	// The next slot is a minute away: a cancelled wait returns at once...
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.ErrorIs(t, l.Wait(wctx, "test/cancel", 1), context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)

	// ...and gives its slot back: the next caller gets it.
	next, err := l.Reserve(ctx, "test/cancel", 1)
	require.NoError(t, err)
	require.Equal(t, first.At.Add(time.Minute), next.At)

	cancelled, stop := context.WithCancel(ctx)
	stop()
	require.ErrorIs(t, l.Wait(cancelled, "test/cancel", 1), context.Canceled)
}
