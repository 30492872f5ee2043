package engine_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/demo"
)

func TestAFreshBatchHasDoneNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, engine.Config{Parallelism: -1})
	s := e.start(t, "2022-03-07", "2022-03-20", false) // two weeks: 10 trading days, 4 weekend days
	require.Equal(t, market.BatchQueued, s.Status)
	require.Equal(t, 0.0, s.ProgressPercent, "nothing is done before any work")
	require.Equal(t, 4, s.Closed)
	require.Equal(t, 0, s.AlreadyLoaded)
	require.Equal(t, 4, s.Skipped, "the old API's skipped is their sum")
	require.Equal(t, 10, s.TradingDays)
	require.Equal(t, "queued: 10 days waiting", s.Message)
}

func TestRetryKeepsTheBatchsHistory(t *testing.T) {
	t.Parallel()
	var broken atomic.Bool
	broken.Store(true)
	src := &hookSource{inner: demo.New(cal(t), demo.Config{}), before: func(_ context.Context, _ market.Dataset, day time.Time) error {
		if broken.Load() && day.Equal(date("2022-04-13")) {
			return errors.New("upstream timeout")
		}
		return nil
	}}
	e := setup(t, src, engine.Config{MaxAttempts: 2})
	first := e.wait(t, e.start(t, "2022-04-11", "2022-04-15", true).TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, first.Status)
	require.Equal(t, 1, first.Failed)
	require.Len(t, first.RecentErrors, 2)
	require.False(t, first.RecentErrors[0].Resolved)

	time.Sleep(1500 * time.Millisecond) // idle between the runs: not part of the batch's time
	broken.Store(false)
	_, err := e.engine.Retry(context.Background(), first.TaskID, market.Actor{By: "test"})
	require.NoError(t, err)
	again := e.wait(t, first.TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, again.Status)
	require.Equal(t, 5, again.Success)
	require.True(t, again.StartTime.Equal(*first.StartTime), "the start is the first run's")
	require.Greater(t, *again.DurationSeconds, *first.DurationSeconds-0.05, "both runs count")
	require.Less(t, *again.DurationSeconds, *first.DurationSeconds+1.4, "the idle time between runs does not")
	require.InDelta(t, float64(again.RowsLoaded) / *again.DurationSeconds, again.RowsPerSecond, again.RowsPerSecond*0.2+1)

	// The error panel agrees with the errors page: the attempts are there, resolved.
	require.Empty(t, again.Errors, "no day ended failed")
	require.Equal(t, 2, again.ErrorCount)
	for _, r := range again.RecentErrors {
		require.True(t, r.Resolved, "%+v", r)
		require.Equal(t, "2022-04-13", r.Date)
	}
	recs, total, err := e.engine.Errors(context.Background(), first.TaskID, 10, 0)
	require.NoError(t, err)
	require.Equal(t, 2, total)
	require.True(t, recs[0].Resolved)
}

func TestActionsFollowTheStateRules(t *testing.T) {
	t.Parallel()
	e := setup(t, nil, engine.Config{Parallelism: -1})
	ctx := context.Background()
	who := market.Actor{By: "test"}
	s := e.start(t, "2022-05-09", "2022-05-13", true)
	require.ErrorIs(t, e.engine.Resume(ctx, s.TaskID, who), market.ErrConflict, "not paused")
	_, err := e.engine.Retry(ctx, s.TaskID, who)
	require.ErrorIs(t, err, market.ErrConflict, "nothing failed")
	require.NoError(t, e.engine.Cancel(ctx, s.TaskID, who))
	require.ErrorIs(t, e.engine.Cancel(ctx, s.TaskID, who), market.ErrConflict, "cancelled already")
	final, err := e.engine.Snapshot(ctx, s.TaskID)
	require.NoError(t, err)
	require.Equal(t, market.BatchCancelled, final.Status)
	require.True(t, final.Status.Allows(market.ActionRetry, final.Failed, final.Cancelled), "finish the remaining days")

	// "Finish the remaining days" of a cancelled batch runs them.
	w := e.with(t, nil, engine.Config{Parallelism: 2})
	n, err := w.engine.Retry(ctx, s.TaskID, who)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	done := w.wait(t, s.TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, done.Status)
	require.Equal(t, 5, done.Success)
}

func TestBatchesOfEqualPriorityShareTheWorkers(t *testing.T) {
	t.Parallel()
	// Both batches are queued before any worker runs: the long one first.
	q := setup(t, nil, engine.Config{Parallelism: -1})
	long := q.start(t, "2021-01-04", "2021-04-30", true) // 80 trading days
	short := q.start(t, "2021-06-07", "2021-06-11", true)
	w := q.with(t, nil, engine.Config{Parallelism: 1})
	s := w.wait(t, short.TaskID, time.Minute)
	require.Equal(t, 5, s.Success)
	l, err := w.engine.Snapshot(context.Background(), long.TaskID)
	require.NoError(t, err)
	require.Less(t, l.Success, 20, "the short batch took turns with the long one instead of waiting behind its 80 days")
	w.wait(t, long.TaskID, 2*time.Minute)
}
