package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/baostock"
	"github.com/marketsync/marketsync/internal/source/baostock/baostocktest"
	"github.com/marketsync/marketsync/internal/source/demo"
)

// someStocks is Baostock limited to the first n stocks of a range: tests need not
// fetch the whole market (the benchmark does).
type someStocks struct {
	*baostock.Source
	n int
}

func (s someStocks) Listings(ctx context.Context, start, end time.Time) ([]market.Listing, error) {
	all, err := s.Source.Listings(ctx, start, end)
	return all[:min(s.n, len(all))], err
}

// baostockSource is a Baostock client of a fake Baostock serving the demo market, for
// the first 1,500 stocks of a range.
func baostockSource(t *testing.T, cfg baostocktest.Config) (*baostocktest.Server, someStocks) {
	t.Helper()
	c := cal(t)
	cfg.Market, cfg.Calendar = demo.New(c, demo.Config{}), c
	fake := baostocktest.New(t, cfg)
	src := baostock.NewSource(&baostock.Config{Addr: fake.Addr()})
	t.Cleanup(func() { src.Close() })
	return fake, someStocks{src, 1500}
}

// staged counts the rows left in staging.
func staged(t *testing.T, e *env) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM stage_runs) + (SELECT count(*) FROM stage_stocks) +
		       (SELECT count(*) FROM stage_daily_bar) + (SELECT count(*) FROM stage_adj_factor) +
		       (SELECT count(*) FROM stage_daily_basic)`).Scan(&n))
	return n
}

func TestABatchFromBaostock(t *testing.T) {
	t.Parallel()
	fake, src := baostockSource(t, baostocktest.Config{})
	e := setup(t, src, engine.Config{Parallelism: 2})
	ctx := context.Background()
	start, end := date("2024-03-04"), date("2024-03-08")
	stocks, err := src.Listings(ctx, start, end)
	require.NoError(t, err)
	before := fake.Stats().Calls[baostock.TypeKData]

	snap, err := e.engine.Start(ctx, market.Spec{Start: start, End: end, Datasets: []string{"daily", "adj_factor", "daily_basic"}})
	require.NoError(t, err)
	require.Equal(t, "baostock", snap.Source)
	require.Equal(t, []market.Note{{Key: "note.baostock_no_bj", Text: "Baostock has no Beijing Stock Exchange stocks: no .BJ code is loaded from it."}}, snap.Notes)
	final := e.wait(t, snap.TaskID, 3*time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status, final.Message)
	require.Equal(t, 15, final.Success)
	require.Nil(t, final.Stage, "gone once the batch ended")

	// Each stock was asked once for its k data over the whole range (a stock whose rows
	// fall short of its trading days pages on to the empty page).
	calls := fake.Stats().Calls[baostock.TypeKData] - before
	t.Logf("%d stocks, %d k-data calls", len(stocks), calls)
	require.GreaterOrEqual(t, calls, len(stocks))
	require.LessOrEqual(t, calls, len(stocks)*21/20)
	st := fake.Stats()
	require.Equal(t, 1, st.MaxInFlight, "one request at a time")
	require.Equal(t, 1, st.MaxOpen, "on one connection")

	// The day holds every stock fetched (none of Beijing's), in Tushare's codes and units.
	day := date("2024-03-06")
	ds, _ := market.LookupDataset("daily")
	rows, err := e.demo.Fetch(ctx, ds, day)
	require.NoError(t, err)
	want := map[string][]any{}
	for rows.Next() {
		v, _ := rows.Values()
		if code := v[0].(string); !strings.HasSuffix(code, ".BJ") && code <= stocks[len(stocks)-1].TSCode {
			want[code] = slices.Clone(v) // the demo reuses its row
		}
	}
	var n, bj int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE ts_code LIKE '%.BJ')
		FROM daily_bar WHERE trade_date = $1`, day).Scan(&n, &bj))
	require.Equal(t, len(want), n)
	require.Zero(t, bj)
	var code string
	var closePrice, vol float64
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT ts_code, close, vol FROM daily_bar WHERE trade_date = $1 ORDER BY ts_code LIMIT 1`,
		day).Scan(&code, &closePrice, &vol))
	require.InDelta(t, want[code][5].(float64), closePrice, 1e-9)
	require.InDelta(t, want[code][9].(float64), vol, 1e-6, "lots, as Tushare's")
	var factors int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM adj_factor WHERE trade_date = $1`, day).Scan(&factors))
	require.GreaterOrEqual(t, factors, n, "a factor for every stock listed that day, suspended ones too")

	require.Eventually(t, func() bool { return staged(t, e) == 0 }, time.Minute, 50*time.Millisecond,
		"staging emptied once the batch ended")
}

// TestBaostockFetchPausesResumesAndCancels: the fetch phase shows on the snapshot,
// stops on pause, goes on from where it was on resume, and a cancel loads nothing.
func TestBaostockFetchPausesResumesAndCancels(t *testing.T) {
	t.Parallel()
	fake, src := baostockSource(t, baostocktest.Config{Latency: 2 * time.Millisecond})
	e := setup(t, src, engine.Config{Parallelism: 2})
	ctx := context.Background()
	snap, err := e.engine.Start(ctx, market.Spec{Start: date("2024-04-01"), End: date("2024-04-03")})
	require.NoError(t, err)
	s := e.waitFor(t, snap.TaskID, func(s *market.Snapshot) bool { return s.Stage != nil && s.Stage.StocksFetched >= 200 })
	require.Equal(t, market.BatchRunning, s.Status)
	require.Contains(t, s.Message, "fetching stocks: ")
	require.NotNil(t, s.EstimatedCompletion)
	require.Zero(t, s.Success, "no day loads before every stock is fetched")

	require.NoError(t, e.engine.Pause(ctx, snap.TaskID, market.Actor{By: "test"}))
	require.Eventually(t, func() bool { // the fetch notices and ends: no more calls
		before := fake.Stats().Calls[baostock.TypeKData]
		time.Sleep(300 * time.Millisecond)
		return fake.Stats().Calls[baostock.TypeKData] == before
	}, 20*time.Second, time.Millisecond, "the fetch stops while paused")
	s, err = e.engine.Snapshot(ctx, snap.TaskID)
	require.NoError(t, err)
	fetched := s.Stage.StocksFetched

	require.NoError(t, e.engine.Resume(ctx, snap.TaskID, market.Actor{By: "test"}))
	e.waitFor(t, snap.TaskID, func(s *market.Snapshot) bool { return s.Stage.StocksFetched >= fetched+200 })
	require.NoError(t, e.engine.Cancel(ctx, snap.TaskID, market.Actor{By: "test"}))
	final := e.wait(t, snap.TaskID, time.Minute)
	require.Equal(t, market.BatchCancelled, final.Status)
	require.Zero(t, final.Success)
	var n int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM daily_bar`).Scan(&n))
	require.Zero(t, n)
	require.Eventually(t, func() bool { return staged(t, e) == 0 }, time.Minute, 50*time.Millisecond)
}

// TestBaostockFetchSurvivesARestart: a process that stops mid-fetch leaves the stocks it
// staged; the next one fetches only the others.
func TestBaostockFetchSurvivesARestart(t *testing.T) {
	t.Parallel()
	// 5 ms a call: the 1,500 stocks take several seconds, so the stop lands mid-fetch.
	fake, src := baostockSource(t, baostocktest.Config{Latency: 5 * time.Millisecond})
	db := &env{}
	db.pool, db.url = newPool(t)
	ctx := context.Background()
	stocks, err := src.Listings(ctx, date("2024-05-06"), date("2024-05-08"))
	require.NoError(t, err)

	first, err := engine.New(ctx, db.pool, src, cal(t), &engine.Config{Parallelism: 2, Queue: "restart"})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = first.Run(runCtx) }()
	snap, err := first.Start(ctx, market.Spec{Start: date("2024-05-06"), End: date("2024-05-08")})
	require.NoError(t, err)
	a := &env{pool: db.pool, engine: first}
	a.waitFor(t, snap.TaskID, func(s *market.Snapshot) bool { return s.Stage != nil && s.Stage.StocksFetched >= 300 })
	stop()
	<-done
	s, err := first.Snapshot(ctx, snap.TaskID)
	require.NoError(t, err)
	kept := s.Stage.StocksFetched
	require.Less(t, kept, len(stocks))

	second := db.with(t, src, engine.Config{Parallelism: 2, Queue: "restart"})
	final := second.wait(t, snap.TaskID, 3*time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status, final.Message)
	calls := fake.Stats().Calls[baostock.TypeKData]
	t.Logf("%d stocks, %d staged before the restart, %d k-data calls in all", len(stocks), kept, calls)
	require.Less(t, calls, len(stocks)*21/20+2*100, "the stocks staged were not fetched again")
}

// TestBaostockBlacklistFailsTheBatchAtOnce: Baostock's blacklist (10001011) is not
// retried: the batch fails with Baostock's own message.
func TestBaostockBlacklistFailsTheBatchAtOnce(t *testing.T) {
	t.Parallel()
	fake, src := baostockSource(t, baostocktest.Config{})
	e := setup(t, src, engine.Config{Parallelism: 2, MaxAttempts: 10})
	fake.Inject(baostocktest.Fault{Kind: baostocktest.ErrorReply, Type: baostock.TypeKData,
		Code: baostock.CodeBlacklisted, Msg: baostock.MsgBlacklisted})
	snap, err := e.engine.Start(context.Background(), market.Spec{Start: date("2024-06-03"), End: date("2024-06-07")})
	require.NoError(t, err)
	final := e.wait(t, snap.TaskID, time.Minute)
	require.Equal(t, market.BatchFailed, final.Status)
	require.Contains(t, final.Reason, baostock.CodeBlacklisted)
	require.Contains(t, final.Reason, baostock.MsgBlacklisted)
	require.Equal(t, 1, fake.Stats().Calls[baostock.TypeKData], "not retried")
}
