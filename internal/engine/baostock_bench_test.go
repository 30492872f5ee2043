package engine_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/baostock"
	"github.com/marketsync/marketsync/internal/source/baostock/baostocktest"
	"github.com/marketsync/marketsync/internal/source/demo"
)

// BenchmarkBaostockYear loads all of 2024 of daily from a fake Baostock that answers each
// call after 30 ms, over one connection, one request at a time. The bound is one call per
// stock at 30 ms, plus loading the 242 days (measured here as a bare loop of COPY from
// the same rows, one transaction per day). The old system made one call per stock and
// day. The fake's answers are computed before the timing. Run it with -benchtime=1x.
func BenchmarkBaostockYear(b *testing.B) {
	ctx := context.Background()
	c := cal(b)
	start, end := date("2024-01-01"), date("2024-12-31")
	days, err := c.TradingDays(start, end)
	require.NoError(b, err)
	const latency = 30 * time.Millisecond
	for b.Loop() {
		fake, err := baostocktest.Start(baostocktest.Config{Market: demo.New(c, demo.Config{}), Calendar: c, Cache: true})
		require.NoError(b, err)
		src := baostock.NewSource(&baostock.Config{Addr: fake.Addr()})
		stocks, err := src.Listings(ctx, start, end)
		require.NoError(b, err)
		// The fake computes every answer before the timing: a real Baostock's work is on
		// its own machines, not on this one's two cores, which the client must have.
		// The batch fetches the span of its trading days.
		for _, l := range stocks {
			_, err := src.FetchRange(ctx, market.RangeRequest{Listing: l, Start: days[0], End: days[len(days)-1], Datasets: []string{"daily"}})
			require.NoError(b, err)
		}
		fake.SetLatency(latency)
		db := &env{}
		db.pool, db.url = newPool(b)
		before := fake.Stats().Calls

		took, final := benchBatch(b, db, src, 2, start, end, []string{"daily"})
		require.Equal(b, market.BatchCompleted, final.Status, final.Message)
		require.Equal(b, len(days), final.Success)
		after := fake.Stats().Calls
		calls := 0
		for typ, n := range after {
			calls += n - before[typ]
		}
		var fetchDone time.Time
		require.NoError(b, db.pool.QueryRow(ctx, `SELECT min(d.started_at) FROM batch_days d JOIN batches b ON b.id = d.batch_id
			WHERE b.task_id = $1`, final.TaskID).Scan(&fetchDone))
		loadTime := final.EndTime.Sub(fetchDone)
		bareTime := bareDays(b, db, days)
		bound := time.Duration(len(stocks))*latency + bareTime
		src.Close()
		fake.Close()

		b.ReportMetric(took.Seconds(), "s/year")
		b.ReportMetric(took.Seconds()/bound.Seconds(), "time/bound")
		b.ReportMetric(float64(calls)/float64(len(days)), "calls/day")
		fmt.Fprintf(os.Stderr, `
2024 of daily from a fake Baostock, 30 ms a call, one connection (%d stocks, %d trading days, %d rows)
  marketsync: %6.1f s  (fetch then %.1f s of loading days)   bound %.1f s   ratio %.3f   target <= 1.10
  calls: %d in all, %.0f per trading day; the old system: %d per trading day (one per stock and day): %.0fx fewer
  at the old system's pace (one call per stock and day, 30 ms each) the year would take %.1f hours
`, len(stocks), len(days), final.RowsLoaded, took.Seconds(), loadTime.Seconds(), bound.Seconds(), took.Seconds()/bound.Seconds(),
			calls, float64(calls)/float64(len(days)), len(stocks), float64(len(stocks))/(float64(calls)/float64(len(days))),
			(time.Duration(len(stocks)*len(days)) * latency).Hours())
	}
}

// bareDays copies each day of daily_bar into a table of its own, one transaction per
// day: the least time loading the days can take here.
func bareDays(b *testing.B, db *env, days []time.Time) time.Duration {
	ctx := context.Background()
	ds, _ := market.LookupDataset("daily")
	createBare(b, db.pool)
	t0 := time.Now()
	for _, d := range days {
		rows, err := db.pool.Query(ctx, `SELECT * FROM daily_bar WHERE trade_date = $1 ORDER BY ts_code`, d)
		require.NoError(b, err)
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
		require.NoError(b, err)
		require.NoError(b, pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_bare"}, ds.ColumnNames(), pgx.CopyFromRows(all))
			return err
		}))
	}
	return time.Since(t0)
}
