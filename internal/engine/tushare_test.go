package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/demo"
	"github.com/marketsync/marketsync/internal/source/tushare"
	"github.com/marketsync/marketsync/internal/source/tushare/tusharetest"
	"github.com/marketsync/marketsync/internal/store"
)

const testToken = "t0ken-4b8c2e1f9d"

// tushareSource is a Tushare client on the test's database's limiter, talking to a fake
// Tushare that serves the demo market.
func tushareSource(t testing.TB, e *env, fake *tusharetest.Server, cfg tushare.Config) *tushare.Source {
	t.Helper()
	cfg.URL = fake.URL
	if cfg.Token == "" {
		cfg.Token = tushare.Secret(testToken)
	}
	src, err := tushare.New(store.NewRateLimiter(e.pool, nil), &cfg)
	require.NoError(t, err)
	return src
}

func TestABatchFromTushare(t *testing.T) {
	t.Parallel()
	fake := tusharetest.New(t, &tusharetest.Config{Token: testToken, Market: demo.New(cal(t), demo.Config{})})
	db := &env{}
	db.pool, db.url = newPool(t)
	e := db.with(t, tushareSource(t, db, fake, tushare.Config{}), engine.Config{Parallelism: 3,
		Sources: []engine.Source{demo.New(cal(t), demo.Config{})}})
	snap, err := e.engine.Start(context.Background(), market.Spec{Start: date("2024-03-04"), End: date("2024-03-08"),
		Datasets: []string{"daily", "adj_factor", "daily_basic"}})
	require.NoError(t, err)
	require.Equal(t, "tushare", snap.Source)
	require.False(t, snap.Synthetic)
	final := e.wait(t, snap.TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status)
	require.Equal(t, 15, final.Success)
	var sources []string
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT array_agg(DISTINCT source) FROM coverage WHERE day BETWEEN '2024-03-04' AND '2024-03-08'`).Scan(&sources))
	require.Equal(t, []string{"tushare"}, sources, "each loaded day records its source")
	n, _ := dayChecksum(t, e.pool, date("2024-03-06"))
	require.Equal(t, demoCount(t, e.demo, date("2024-03-06")), n, "the fake serves the demo market, all of it")
	// The batch queued a refresh of the stock list from its source: listed, delisted and
	// paused stocks.
	require.Eventually(t, func() bool {
		var statuses int
		err := e.pool.QueryRow(context.Background(), `SELECT count(DISTINCT list_status) FROM stock_basic`).Scan(&statuses)
		return err == nil && statuses >= 2
	}, time.Minute, 50*time.Millisecond, "stock_basic filled by the batch")
	listCalls := fake.Stats("stock_basic").Calls
	require.GreaterOrEqual(t, listCalls, 3, "a call (or more) per list status")

	// The demo is there too, by name; a dataset a source does not serve is bad input.
	demoSnap, err := e.engine.Start(context.Background(), market.Spec{Source: "demo", Start: date("2024-03-11"), End: date("2024-03-11")})
	require.NoError(t, err)
	require.Equal(t, "demo", demoSnap.Source)
	require.True(t, demoSnap.Synthetic, "the demo says its data is made up")
	_, err = e.engine.Start(context.Background(), market.Spec{Source: "baostock", Start: date("2024-03-11"), End: date("2024-03-11")})
	require.ErrorIs(t, err, market.ErrInvalidInput)
	require.Contains(t, err.Error(), "configured here: demo, tushare")

	// The demo's batch leaves the real stock list alone.
	require.Equal(t, market.BatchCompleted, e.wait(t, demoSnap.TaskID, time.Minute).Status)
	var real int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM stock_basic`).Scan(&real))
	require.Eventually(t, func() bool {
		var n int
		err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'marketsync.stocks' AND state = 'completed'`).Scan(&n)
		return err == nil && n == 2
	}, time.Minute, 50*time.Millisecond, "the demo's refresh ran")
	var after int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM stock_basic`).Scan(&after))
	require.Equal(t, real, after)
	require.Equal(t, listCalls, fake.Stats("stock_basic").Calls)
}

func TestTushareRefusals(t *testing.T) {
	t.Parallel()
	fake := tusharetest.New(t, &tusharetest.Config{Token: testToken, Market: demo.New(cal(t), demo.Config{})})
	db := &env{}
	db.pool, db.url = newPool(t)

	// A wrong token fails the batch at once, saying so, without retries.
	bad := db.with(t, tushareSource(t, db, fake, tushare.Config{Token: "wrong-token"}), engine.Config{Queue: "bad", MaxAttempts: 25})
	began := time.Now()
	snap, err := bad.engine.Start(context.Background(), market.Spec{Start: date("2024-04-01"), End: date("2024-04-30")})
	require.NoError(t, err)
	final := bad.wait(t, snap.TaskID, time.Minute)
	require.Equal(t, market.BatchFailed, final.Status)
	require.Contains(t, final.Reason, "Tushare rejected the token")
	t.Logf("a rejected token failed the batch in %v", time.Since(began).Round(time.Millisecond))
	_, total, err := bad.engine.Errors(context.Background(), snap.TaskID, 100, 0)
	require.NoError(t, err)
	require.LessOrEqual(t, total, 2, "not retried 25 times")

	// No permission for daily_basic: its days fail, naming it; the other dataset loads.
	fake.Inject("daily_basic", tusharetest.FaultPermission, 100)
	good := db.with(t, tushareSource(t, db, fake, tushare.Config{}), engine.Config{Queue: "good", Parallelism: 2})
	snap, err = good.engine.Start(context.Background(), market.Spec{Start: date("2024-05-06"), End: date("2024-05-10"),
		Datasets: []string{"daily", "daily_basic"}})
	require.NoError(t, err)
	final = good.wait(t, snap.TaskID, time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status)
	require.Equal(t, 5, final.Success, "daily loads")
	require.Equal(t, 5, final.Failed, "every day of daily_basic fails")
	for _, e := range final.Errors {
		require.Equal(t, "daily_basic", e.Dataset)
		require.Contains(t, e.Error, "daily_basic")
	}
	require.LessOrEqual(t, fake.Stats("daily_basic").Calls, 3, "the refusal is not asked again for every day")
}

func TestTwoEnginesShareTheRateLimit(t *testing.T) {
	t.Parallel()
	// 120 calls a minute per api, over a 6-second window for the test: 12 calls a window.
	fake := tusharetest.New(t, &tusharetest.Config{Token: testToken, Market: demo.New(cal(t), demo.Config{}),
		Limits: map[string]int{"daily": 12}, Window: 6 * time.Second})
	db := &env{}
	db.pool, db.url = newPool(t)
	lim := store.NewRateLimiter(db.pool, &store.RateLimiterConfig{Period: 6 * time.Second})
	for i := range 2 {
		src, err := tushare.New(lim, &tushare.Config{URL: fake.URL, Token: tushare.Secret(testToken), Limits: map[string]int{"daily": 12}})
		require.NoError(t, err)
		if i == 0 {
			db = db.with(t, src, engine.Config{Queue: "shared", Parallelism: 2})
		} else {
			db.with(t, src, engine.Config{Queue: "shared", Parallelism: 2})
		}
	}
	snap, err := db.engine.Start(context.Background(), market.Spec{Start: date("2024-06-03"), End: date("2024-06-21")})
	require.NoError(t, err)
	final := db.wait(t, snap.TaskID, 2*time.Minute)
	require.Equal(t, market.BatchCompleted, final.Status)
	require.Equal(t, 14, final.Success, "June 10 is the Dragon Boat Festival")
	require.Zero(t, fake.Stats("daily").Refused, "the limiter keeps both engines under the limit together")
}

func TestTheCalendarGrowsFromTheSource(t *testing.T) {
	t.Parallel()
	// The engine starts knowing 2023 only; the source knows more.
	short, err := calendar.Parse("2023-01-02\n2023-12-29\n")
	require.NoError(t, err)
	fake := tusharetest.New(t, &tusharetest.Config{Token: testToken, Market: demo.New(cal(t), demo.Config{})})
	db := &env{}
	db.pool, db.url = newPool(t)
	src := tushareSource(t, db, fake, tushare.Config{})
	e, err := engine.New(context.Background(), db.pool, src, short, &engine.Config{Parallelism: -1})
	require.NoError(t, err)
	require.NoError(t, e.LoadCalendar(context.Background()))

	snap, err := e.Start(context.Background(), market.Spec{Start: date("2024-02-05"), End: date("2024-02-16")})
	require.NoError(t, err, "the range reached past the calendar: it grew from trade_cal")
	require.Equal(t, 4, snap.TradingDays, "02-09 and 02-12 to 02-16 are the Spring Festival, from the source's calendar")
	require.False(t, short.Last().Before(date("2024-02-16")))
	var open bool
	require.NoError(t, db.pool.QueryRow(context.Background(), `SELECT open FROM trade_calendar WHERE day = '2024-02-14'`).Scan(&open))
	require.False(t, open, "stored in PostgreSQL for every process")
	require.Positive(t, fake.Stats("trade_cal").Calls)

	_, err = e.Start(context.Background(), market.Spec{Start: date("1980-01-02"), End: date("1980-01-04")})
	var ce *market.CalendarError
	require.ErrorAs(t, err, &ce, "a range the calendar still does not know is refused, saying how far it is known")
	require.True(t, strings.Contains(err.Error(), "the calendar covers 2023-01-01"))
}
