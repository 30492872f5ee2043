package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/demo"
	"github.com/marketsync/marketsync/internal/source/tushare"
	"github.com/marketsync/marketsync/internal/source/tushare/tusharetest"
)

// benchDatasets are the three datasets an analyst loads from Tushare.
var benchDatasets = []string{"daily", "adj_factor", "daily_basic"}

// BenchmarkTushareYear loads all of 2024 of daily, adj_factor and daily_basic from a
// fake Tushare that answers each call after 30 ms and allows 500 calls a minute per api
// (its answers computed before the timing).
// The bound is the limit: 242 calls per api at 500 a minute, the three apis side by
// side, is 29 s. It reports the time against that bound and the 40203 answers (the
// limiter must stay under the limit, never bounce off it). It then loads the year of
// daily with no limit and no latency, through the engine and through a bare loop of
// fetch and COPY, one transaction per day. Run it with -benchtime=1x.
func BenchmarkTushareYear(b *testing.B) {
	c := cal(b)
	start, end := date("2024-01-01"), date("2024-12-31")
	days, err := c.TradingDays(start, end)
	require.NoError(b, err)
	mkt := demo.New(c, demo.Config{})
	limits := map[string]int{"daily": 500, "adj_factor": 500, "daily_basic": 500}

	for b.Loop() {
		// (a) rate-limited, with latency.
		fake := tusharetest.New(b, &tusharetest.Config{Token: testToken, Market: mkt, Latency: 30 * time.Millisecond, Limits: limits, Cache: true})
		warm(b, fake, days, benchDatasets)
		db := &env{}
		db.pool, db.url = newPool(b)
		src := tushareSource(b, db, fake, tushare.Config{Limits: limits})
		took, final := benchBatch(b, db, src, 6, start, end, benchDatasets)
		require.Equal(b, market.BatchCompleted, final.Status)
		require.Equal(b, 3*len(days), final.Success)
		refused := 0
		for _, api := range benchDatasets {
			refused += fake.Stats(api).Refused
		}
		bound := time.Duration(len(days)) * time.Minute / 500

		// (b) no limit, no latency: the engine against a bare fetch-and-COPY loop.
		open := tusharetest.New(b, &tusharetest.Config{Token: testToken, Market: mkt, Cache: true})
		warm(b, open, days, []string{"daily"})
		db2 := &env{}
		db2.pool, db2.url = newPool(b)
		src2 := tushareSource(b, db2, open, tushare.Config{Limits: map[string]int{"daily": -1, "trade_cal": -1, "stock_basic": -1}})
		engineTime, final2 := benchBatch(b, db2, src2, 2, start, end, []string{"daily"})
		require.Equal(b, market.BatchCompleted, final2.Status)
		bareTime, bareRows := bareLoop(b, db2, src2, days)
		require.Equal(b, final2.RowsLoaded, bareRows)

		b.ReportMetric(took.Seconds(), "s/limited-year")
		b.ReportMetric(took.Seconds()/bound.Seconds(), "limited/bound")
		b.ReportMetric(float64(refused), "refusals")
		b.ReportMetric(float64(bareRows)/engineTime.Seconds(), "rows/s")
		b.ReportMetric(engineTime.Seconds()/bareTime.Seconds(), "engine/bare")
		fmt.Fprintf(os.Stderr, `
2024 from a fake Tushare (%d trading days)
  (a) daily+adj_factor+daily_basic, 30 ms a call, 500 calls/min per api, 6 days in parallel:
      %6.2f s   bound %.2f s (the limit)   ratio %.3f   target <= 1.10
      40203 answers: %d                                              target 0
  (b) daily, no limit, no latency: engine (2 in parallel) %6.2f s %8.0f rows/s
                                   bare fetch+COPY loop   %6.2f s %8.0f rows/s   ratio %.2f
`, len(days), took.Seconds(), bound.Seconds(), took.Seconds()/bound.Seconds(), refused,
			engineTime.Seconds(), float64(bareRows)/engineTime.Seconds(),
			bareTime.Seconds(), float64(bareRows)/bareTime.Seconds(), engineTime.Seconds()/bareTime.Seconds())
	}
}

// warm has the fake compute every answer the client will ask for, before the timing: a
// real Tushare's work is on its own machines, not on this one's two cores.
func warm(b *testing.B, fake *tusharetest.Server, days []time.Time, datasets []string) {
	for _, name := range datasets {
		ds, _ := market.LookupDataset(name)
		fields := strings.Join(ds.ColumnNames(), ",")
		for _, d := range days {
			params := map[string]any{"trade_date": d.Format("20060102"), "limit": tushare.DefaultPageSize, "offset": 0}
			require.NoError(b, fake.Warm(context.Background(), name, params, fields))
		}
	}
}

// benchBatch runs one batch of datasets over start..end from src on db's database with
// parallelism workers, and returns how long it took and its final snapshot.
func benchBatch(b *testing.B, db *env, src engine.Source, parallelism int, start, end time.Time, datasets []string) (time.Duration, *market.Snapshot) {
	ctx := context.Background()
	cfg := engine.Config{Parallelism: parallelism, Logger: slog.New(slog.DiscardHandler)}
	e, err := engine.New(ctx, db.pool, src, cal(b), &cfg)
	require.NoError(b, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(runCtx) }()
	defer func() { stop(); <-done }()
	<-e.Ready()
	t0 := time.Now()
	snap, err := e.Start(ctx, market.Spec{Start: start, End: end, Datasets: datasets})
	require.NoError(b, err)
	final, err := e.Watch(ctx, snap.TaskID, time.Second, func(*market.Snapshot) {})
	require.NoError(b, err)
	return time.Since(t0), final
}

// bareLoop fetches each day of daily from src and copies it into a table of its own, one
// transaction per day: the least time the work can take here.
func bareLoop(b *testing.B, db *env, src engine.Source, days []time.Time) (time.Duration, int64) {
	ctx := context.Background()
	ds, _ := market.LookupDataset("daily")
	createBare(b, db.pool)
	t0 := time.Now()
	var total int64
	for _, d := range days {
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			rows, err := src.Fetch(ctx, ds, d)
			if err != nil {
				return err
			}
			n, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_bare"}, ds.ColumnNames(), rows)
			total += n
			return err
		})
		require.NoError(b, err)
	}
	return time.Since(t0), total
}
