package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

// The claim pipeline, statement by statement, against PostgreSQL: what the engine builds
// on. Each test makes its own batch in its own database.

const testChannel = "store_test"

func date(s string) time.Time {
	d, err := market.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// newBatch inserts a batch in status st with one daily day per date: trading days
// pending, the others (prefixed "-") skipped, as the engine creates them.
func newBatch(t *testing.T, pool *pgxpool.Pool, st market.BatchStatus, dates ...string) *Batch {
	t.Helper()
	ctx := context.Background()
	var days []Day
	trading := 0
	for _, s := range dates {
		d := Day{Dataset: "daily", Trading: s[0] != '-', Status: market.DayPending}
		if !d.Trading {
			s = s[1:]
			d.Status = market.DaySkipped
			now := time.Now()
			d.FinishedAt = &now
		} else {
			trading++
		}
		d.Day = date(s)
		days = append(days, d)
	}
	b := &Batch{Datasets: []string{"daily"}, Start: days[0].Day, End: days[len(days)-1].Day, Priority: 2,
		Status: st, Queue: "default", Total: len(days), TradingDays: trading, CreatedBy: "test"}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := InsertBatch(ctx, tx, b, b.Start.Format(market.DateLayout)+"_test"); err != nil {
			return err
		}
		return InsertDays(ctx, tx, b.ID, days)
	})
	require.NoError(t, err)
	return b
}

// day reads one day of a batch.
func day(t *testing.T, pool *pgxpool.Pool, b *Batch, d string) Day {
	t.Helper()
	days, err := Days(context.Background(), pool, b.ID)
	require.NoError(t, err)
	for _, x := range days {
		if x.Day.Equal(date(d)) {
			return x
		}
	}
	t.Fatalf("batch %s has no day %s", b.TaskID, d)
	return Day{}
}

func status(t *testing.T, pool *pgxpool.Pool, b *Batch) market.BatchStatus {
	t.Helper()
	got, err := BatchByTaskID(context.Background(), pool, b.TaskID)
	require.NoError(t, err)
	return got.Status
}

// claim claims day d of b at gen for job 1, attempt 1.
func claim(t *testing.T, pool *pgxpool.Pool, b *Batch, d string, gen int) bool {
	t.Helper()
	_, ok, err := ClaimDay(context.Background(), pool, ClaimParams{
		DayRef: DayRef{BatchID: b.ID, Dataset: "daily", Day: date(d), Gen: gen}, JobID: 1, Attempt: 1, Channel: testChannel})
	require.NoError(t, err)
	return ok
}

func TestInsertBatchSuffixesTakenTaskIDs(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	var ids []string
	var rowIDs []int64
	for range 3 {
		b := &Batch{Datasets: []string{"daily"}, Start: date("2025-10-01"), End: date("2025-10-05"), Priority: 2,
			Status: market.BatchQueued, Queue: "default", Total: 5, CreatedBy: "test"}
		require.NoError(t, InsertBatch(ctx, pool, b, "2025-10-01_2025-10-05_1767574800"))
		require.False(t, b.CreatedAt.IsZero())
		ids = append(ids, b.TaskID)
		rowIDs = append(rowIDs, b.ID)
	}
	require.Equal(t, []string{"2025-10-01_2025-10-05_1767574800", "2025-10-01_2025-10-05_1767574800-2",
		"2025-10-01_2025-10-05_1767574800-3"}, ids)
	require.Len(t, map[int64]bool{rowIDs[0]: true, rowIDs[1]: true, rowIDs[2]: true}, 3)
	got, err := BatchByTaskID(ctx, pool, ids[1])
	require.NoError(t, err)
	require.Equal(t, rowIDs[1], got.ID)
	_, err = BatchByTaskID(ctx, pool, "nope")
	require.ErrorIs(t, err, market.ErrNotFound)
}

func TestInsertDaysKeepsEveryDay(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	b := newBatch(t, pool, market.BatchQueued, "2025-10-03", "-2025-10-04", "-2025-10-05", "2025-10-06")
	days, err := Days(context.Background(), pool, b.ID)
	require.NoError(t, err)
	require.Len(t, days, 4)
	var got []market.DayStatus
	for _, d := range days {
		require.Equal(t, 1, d.Gen, "a new day is at its first generation")
		require.Equal(t, d.Status == market.DaySkipped, d.FinishedAt != nil)
		got = append(got, d.Status)
	}
	require.Equal(t, []market.DayStatus{market.DayPending, market.DaySkipped, market.DaySkipped, market.DayPending}, got)
	finished, total, err := Progress(context.Background(), pool, b.ID)
	require.NoError(t, err)
	require.Equal(t, []int{2, 4}, []int{finished, total})
}

func TestClaimDayClaimsOnceAndStartsTheBatch(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	b := newBatch(t, pool, market.BatchQueued, "2025-10-09", "2025-10-10")
	listener, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer listener.Release()
	_, err = listener.Exec(ctx, "LISTEN "+testChannel)
	require.NoError(t, err)

	got, ok, err := ClaimDay(ctx, pool, ClaimParams{
		DayRef: DayRef{BatchID: b.ID, Dataset: "daily", Day: date("2025-10-09"), Gen: 1}, JobID: 42, Attempt: 1, Channel: testChannel})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, market.BatchRunning, got.Status, "the claim moves a queued batch to running")
	require.NotNil(t, got.StartedAt)
	require.Greater(t, got.Version, b.Version, "and bumps its version")
	d := day(t, pool, b, "2025-10-09")
	require.Equal(t, market.DayRunning, d.Status)
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, int64(42), *d.JobID)
	require.NotNil(t, d.StartedAt)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := listener.Conn().WaitForNotification(wctx)
	require.NoError(t, err)
	require.Equal(t, b.TaskID, n.Payload, "the claim is announced")

	// Once finished, the day is not claimed again, not even by its own job's next attempt.
	require.NoError(t, FinishDay(ctx, pool, b.ID, "daily", date("2025-10-09"), 1, market.DaySucceeded, 10, nil))
	require.False(t, claim(t, pool, b, "2025-10-09", 1))
	require.Equal(t, market.DaySucceeded, day(t, pool, b, "2025-10-09").Status)
}

func TestClaimDayRefusesStaleJobsAndStoppedBatches(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	b := newBatch(t, pool, market.BatchQueued, "2025-10-09")
	require.False(t, claim(t, pool, b, "2025-10-09", 2), "a job of another generation is stale")
	require.False(t, claim(t, pool, b, "2025-10-10", 1), "no such day")
	require.Equal(t, market.BatchQueued, status(t, pool, b), "a refused claim leaves the batch as it was")

	for _, st := range []market.BatchStatus{market.BatchPaused, market.BatchCancelling, market.BatchCancelled, market.BatchCompleted} {
		require.NoError(t, SetBatchStatus(ctx, pool, b.ID, st, ""))
		require.False(t, claim(t, pool, b, "2025-10-09", 1), "a %s batch", st)
		require.Equal(t, market.DayPending, day(t, pool, b, "2025-10-09").Status)
		require.Equal(t, st, status(t, pool, b))
	}
	require.NoError(t, SetBatchStatus(ctx, pool, b.ID, market.BatchRunning, ""))
	require.True(t, claim(t, pool, b, "2025-10-09", 1), "running again: claimed")
}

func TestFinishDayDropsStaleResults(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	b := newBatch(t, pool, market.BatchQueued, "2025-10-09", "2025-10-10")
	require.ErrorIs(t, FinishDay(ctx, pool, b.ID, "daily", date("2025-10-09"), 1, market.DaySucceeded, 1, nil), ErrStale,
		"a day that is not running")
	require.True(t, claim(t, pool, b, "2025-10-09", 1))
	msg := "boom"
	require.NoError(t, FinishDay(ctx, pool, b.ID, "daily", date("2025-10-09"), 1, market.DayFailed, 0, &msg))
	d := day(t, pool, b, "2025-10-09")
	require.Equal(t, market.DayFailed, d.Status)
	require.Equal(t, "boom", *d.Error)
	require.NotNil(t, d.FinishedAt)
	require.ErrorIs(t, FinishDay(ctx, pool, b.ID, "daily", date("2025-10-09"), 1, market.DaySucceeded, 1, nil), ErrStale,
		"finished already")

	// A day queued again while its job ran: the old job's result is dropped.
	require.True(t, claim(t, pool, b, "2025-10-10", 1))
	_, ok, err := RequeueLost(ctx, pool, DayRef{BatchID: b.ID, Dataset: "daily", Day: date("2025-10-10"), Gen: 1})
	require.NoError(t, err)
	require.True(t, ok)
	require.ErrorIs(t, FinishDay(ctx, pool, b.ID, "daily", date("2025-10-10"), 1, market.DaySucceeded, 1, nil), ErrStale)
	require.True(t, claim(t, pool, b, "2025-10-10", 2))
	require.NoError(t, FinishDay(ctx, pool, b.ID, "daily", date("2025-10-10"), 2, market.DaySucceeded, 7, nil))
	require.Equal(t, int64(7), day(t, pool, b, "2025-10-10").Rows)
}

func TestRequeueLostMovesTheDayToANewGeneration(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	b := newBatch(t, pool, market.BatchQueued, "2025-10-09", "2025-10-10")
	require.True(t, claim(t, pool, b, "2025-10-09", 1))
	ref := DayRef{BatchID: b.ID, Dataset: "daily", Day: date("2025-10-09"), Gen: 1}
	d, ok, err := RequeueLost(ctx, pool, ref)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 2, d.Gen)
	got := day(t, pool, b, "2025-10-09")
	require.Equal(t, market.DayPending, got.Status)
	require.Equal(t, 2, got.Gen)
	require.Nil(t, got.JobID)
	require.Nil(t, got.StartedAt)

	_, ok, err = RequeueLost(ctx, pool, ref)
	require.NoError(t, err)
	require.False(t, ok, "the day moved on: that gen is gone")

	// A pending day (its job never claimed it) goes too; a finished one does not.
	_, ok, err = RequeueLost(ctx, pool, DayRef{BatchID: b.ID, Dataset: "daily", Day: date("2025-10-10"), Gen: 1})
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, claim(t, pool, b, "2025-10-10", 2))
	require.NoError(t, FinishDay(ctx, pool, b.ID, "daily", date("2025-10-10"), 2, market.DaySucceeded, 1, nil))
	_, ok, err = RequeueLost(ctx, pool, DayRef{BatchID: b.ID, Dataset: "daily", Day: date("2025-10-10"), Gen: 2})
	require.NoError(t, err)
	require.False(t, ok)
}

func TestCancelPendingAndFinishIfDone(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	b := newBatch(t, pool, market.BatchQueued, "2025-10-08", "2025-10-09", "2025-10-10", "-2025-10-11")
	require.True(t, claim(t, pool, b, "2025-10-08", 1))
	require.NoError(t, FinishDay(ctx, pool, b.ID, "daily", date("2025-10-08"), 1, market.DaySucceeded, 1, nil))
	require.True(t, claim(t, pool, b, "2025-10-09", 1))

	finish := func(b *Batch) market.BatchStatus {
		var st market.BatchStatus
		require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := LockBatchByID(ctx, tx, b.ID); err != nil {
				return err
			}
			var err error
			st, err = FinishIfDone(ctx, tx, b.ID)
			return err
		}))
		return st
	}
	require.Equal(t, market.BatchStatus(""), finish(b), "days are left")

	require.NoError(t, SetCancelling(ctx, pool, b.ID, "test"))
	require.NoError(t, CancelPending(ctx, pool, b.ID))
	require.Equal(t, market.DayCancelled, day(t, pool, b, "2025-10-10").Status)
	require.Equal(t, market.DayRunning, day(t, pool, b, "2025-10-09").Status, "a running day is left to its job")
	require.Equal(t, market.DaySucceeded, day(t, pool, b, "2025-10-08").Status)
	require.Equal(t, market.DaySkipped, day(t, pool, b, "2025-10-11").Status)
	require.Equal(t, market.BatchStatus(""), finish(b), "a day still runs")

	require.NoError(t, FinishDay(ctx, pool, b.ID, "daily", date("2025-10-09"), 1, market.DayCancelled, 0, nil))
	require.Equal(t, market.BatchCancelled, finish(b), "a cancelling batch ends cancelled")
	got, err := BatchByTaskID(ctx, pool, b.TaskID)
	require.NoError(t, err)
	require.NotNil(t, got.FinishedAt)
	require.Equal(t, "test", *got.CancelledBy)
	require.Equal(t, market.BatchStatus(""), finish(b), "a finished batch is not finished again")

	closed := newBatch(t, pool, market.BatchRunning, "-2025-10-04")
	require.Equal(t, market.BatchCompleted, finish(closed), "nothing left to run: completed")
}

func TestRequeueTakesBackTheTradingDaysAsked(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	b := newBatch(t, pool, market.BatchRunning, "2025-10-08", "2025-10-09", "2025-10-10", "-2025-10-11")
	msg := "boom"
	require.True(t, claim(t, pool, b, "2025-10-08", 1))
	require.NoError(t, FinishDay(ctx, pool, b.ID, "daily", date("2025-10-08"), 1, market.DayFailed, 0, &msg))
	require.True(t, claim(t, pool, b, "2025-10-09", 1))
	require.NoError(t, FinishDay(ctx, pool, b.ID, "daily", date("2025-10-09"), 1, market.DaySucceeded, 1, nil))
	require.NoError(t, CancelPending(ctx, pool, b.ID)) // 10-10

	days, err := Requeue(ctx, pool, b.ID, market.DayFailed, market.DayCancelled, market.DaySkipped)
	require.NoError(t, err)
	var got []string
	for _, d := range days {
		require.Equal(t, 2, d.Gen)
		require.Equal(t, market.DayPending, d.Status)
		got = append(got, d.Day.Format(market.DateLayout))
	}
	require.ElementsMatch(t, []string{"2025-10-08", "2025-10-10"}, got, "closed days are never queued")
	d := day(t, pool, b, "2025-10-08")
	require.Nil(t, d.FinishedAt)
	require.Nil(t, d.JobID)
	require.Equal(t, market.DaySucceeded, day(t, pool, b, "2025-10-09").Status)
	require.Equal(t, market.DaySkipped, day(t, pool, b, "2025-10-11").Status)
	require.False(t, claim(t, pool, b, "2025-10-08", 1), "the old generation's job is stale")
	require.True(t, claim(t, pool, b, "2025-10-08", 2))
}

func TestLockDayHoldsOffAnotherLoadOfTheSameDay(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	first, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer first.Rollback(ctx)
	require.NoError(t, LockDay(ctx, first, "daily", date("2025-10-09")))

	try := func(dataset, d string) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '200ms'"); err != nil {
				return err
			}
			return LockDay(ctx, tx, dataset, date(d))
		})
	}
	err = try("daily", "2025-10-09")
	require.Error(t, err, "the same (dataset, day) waits")
	require.Contains(t, err.Error(), "lock timeout")
	require.NoError(t, try("daily", "2025-10-10"), "another day does not")
	require.NoError(t, try("adj_factor", "2025-10-09"), "nor another dataset")
	require.NoError(t, first.Commit(ctx))
	require.NoError(t, try("daily", "2025-10-09"), "the lock ends with its transaction")
}

// dailyRows is one daily row per code for day.
func dailyRows(day time.Time, close float64, codes ...string) market.Rows {
	var rows [][]any
	for _, c := range codes {
		rows = append(rows, []any{c, day, close, close, close, close, close, 0.0, 0.0, 100.0, 1000.0})
	}
	return pgx.CopyFromRows(rows)
}

func TestReplaceDayReplacesOneDayInItsTransaction(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	ds, err := market.LookupDataset("daily")
	require.NoError(t, err)
	d1, d2 := date("2025-10-09"), date("2025-10-10")
	replace := func(d time.Time, rows market.Rows, commit bool) (int64, error) {
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx)
		n, err := ReplaceDay(ctx, tx, DayLoad{Dataset: ds, Day: d, BatchID: 7, Source: "test"}, rows)
		if err == nil && commit {
			require.NoError(t, tx.Commit(ctx))
		}
		return n, err
	}
	content := func(d time.Time) (n int, sum float64, covered int64) {
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*), coalesce(sum(close), 0) FROM daily_bar WHERE trade_date = $1", d).Scan(&n, &sum))
		err := pool.QueryRow(ctx, "SELECT rows FROM coverage WHERE dataset = 'daily' AND day = $1", d).Scan(&covered)
		if errors.Is(err, pgx.ErrNoRows) {
			return n, sum, -1
		}
		require.NoError(t, err)
		return n, sum, covered
	}

	n, err := replace(d1, dailyRows(d1, 10, "000001.SZ", "000002.SZ", "600000.SH"), true)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	_, err = replace(d2, dailyRows(d2, 5, "000001.SZ"), true)
	require.NoError(t, err)
	ok, err := IsCovered(ctx, pool, "daily", d1)
	require.NoError(t, err)
	require.True(t, ok)

	n, err = replace(d1, dailyRows(d1, 20, "000001.SZ", "600000.SH"), true)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	rows, sum, covered := content(d1)
	require.Equal(t, []any{2, 40.0, int64(2)}, []any{rows, sum, covered}, "the day's rows replaced, coverage too")
	rows, _, _ = content(d2)
	require.Equal(t, 1, rows, "the other day untouched")

	_, err = replace(d1, dailyRows(d1, 30, "000003.SZ"), false)
	require.NoError(t, err)
	rows, sum, covered = content(d1)
	require.Equal(t, []any{2, 40.0, int64(2)}, []any{rows, sum, covered}, "rolled back: the previous rows stay")

	_, err = replace(d1, dailyRows(d1, 0), true)
	require.ErrorIs(t, err, market.ErrNoData, "no rows is no data, and the transaction fails")
	rows, _, covered = content(d1)
	require.Equal(t, []any{2, int64(2)}, []any{rows, covered})

	d3 := date("2025-10-13")
	_, err = replace(d3, dailyRows(d3, 0), true)
	require.ErrorIs(t, err, market.ErrNoData)
	ok, err = IsCovered(ctx, pool, "daily", d3)
	require.NoError(t, err)
	require.False(t, ok, "a day without rows is not loaded")
}

func TestLiveWorkersAreTheProcessesHoldingTheirLock(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	id, err := RegisterWorker(ctx, pool, "default", "host", 1234)
	require.NoError(t, err)
	other, err := RegisterWorker(ctx, pool, "default", "host", 1235)
	require.NoError(t, err)
	live, err := LiveWorkers(ctx, pool)
	require.NoError(t, err)
	require.Empty(t, live, "registered, not holding the lock: not live")

	// Another process: a connection of its own.
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	require.NoError(t, err)
	defer conn.Close(ctx)
	require.NoError(t, LockWorker(ctx, conn, id))
	live, err = LiveWorkers(ctx, pool)
	require.NoError(t, err)
	require.Equal(t, map[int32]bool{id: true}, live)

	require.NoError(t, PruneWorkers(ctx, pool, 0))
	rows, err := pool.Query(ctx, "SELECT id FROM workers ORDER BY id")
	require.NoError(t, err)
	left, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(t, err)
	require.Equal(t, []int32{id}, left, "a gone worker's record is pruned (%d), a live one's kept", other)

	// The process dies: its lock goes with its connection.
	require.NoError(t, conn.Close(ctx))
	require.Eventually(t, func() bool {
		live, err := LiveWorkers(ctx, pool)
		return err == nil && len(live) == 0
	}, 10*time.Second, 10*time.Millisecond)
}
