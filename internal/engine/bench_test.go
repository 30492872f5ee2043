package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/demo"
)

// BenchmarkSyncYear loads all of 2024 (242 trading days) of daily from the demo source
// (a) through the engine and (b) with a bare CopyFrom loop, one transaction per day, on
// an empty database, and reports both rates, their ratio, ms per day and peak memory.
// Run it with -benchtime=1x: each run is a whole year.
func BenchmarkSyncYear(b *testing.B) {
	ctx := context.Background()
	p, _ := newPool(b)
	c := cal(b)
	start, end := date("2024-01-01"), date("2024-12-31")
	days, err := c.TradingDays(start, end)
	require.NoError(b, err)
	ds, _ := market.LookupDataset("daily")
	createBare(b, p)

	for b.Loop() {
		_, err := p.Exec(ctx, `TRUNCATE daily_bar, bench_bare, coverage`)
		require.NoError(b, err)
		src := demo.New(c, demo.Config{})
		// Warm the source's caches outside both timings, alike for (a) and (b).
		for _, d := range days[:1] {
			rows, err := src.Fetch(ctx, ds, d)
			require.NoError(b, err)
			for rows.Next() {
			}
		}
		runtime.GC()

		// (a) the engine.
		cfg := engine.Config{Parallelism: 2, Logger: slog.New(slog.DiscardHandler)}
		e, err := engine.New(context.Background(), p, src, c, &cfg)
		require.NoError(b, err)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = e.Run(runCtx) }()
		peak := newPeakSampler()
		t0 := time.Now()
		snap, err := e.Start(ctx, market.Spec{Start: start, End: end})
		require.NoError(b, err)
		final, err := e.Watch(ctx, snap.TaskID, time.Second, func(*market.Snapshot) {})
		require.NoError(b, err)
		engineTime := time.Since(t0)
		heapPeak := peak.stop()
		stop()
		<-done
		require.Equal(b, market.BatchCompleted, final.Status)
		require.Equal(b, len(days), final.Success)
		rows := final.RowsLoaded
		var dayP50, dayP99 float64
		require.NoError(b, p.QueryRow(ctx, `
			SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)
			FROM (SELECT extract(epoch FROM d.finished_at - d.started_at) * 1000 AS ms
			      FROM batch_days d JOIN batches b ON b.id = d.batch_id
			      WHERE b.task_id = $1 AND d.status = 'succeeded') t`, snap.TaskID).Scan(&dayP50, &dayP99))

		// (b) the bare loop: the physical limit of this machine.
		t1 := time.Now()
		var bareRows int64
		for _, d := range days {
			err := pgx.BeginFunc(ctx, p, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "DELETE FROM bench_bare WHERE trade_date = $1", d); err != nil {
					return err
				}
				src, err := src.Fetch(ctx, ds, d)
				if err != nil {
					return err
				}
				n, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_bare"}, ds.ColumnNames(), src)
				bareRows += n
				return err
			})
			require.NoError(b, err)
		}
		bareTime := time.Since(t1)
		require.Equal(b, rows, bareRows)

		engineRate := float64(rows) / engineTime.Seconds()
		bareRate := float64(bareRows) / bareTime.Seconds()
		msPerDay := float64(engineTime.Milliseconds()) / float64(len(days))
		ratio := engineTime.Seconds() / bareTime.Seconds()
		b.ReportMetric(engineTime.Seconds(), "s/year")
		b.ReportMetric(msPerDay, "ms/day")
		b.ReportMetric(engineRate, "rows/s")
		b.ReportMetric(bareRate, "bare-rows/s")
		b.ReportMetric(ratio, "engine/bare")
		b.ReportMetric(float64(heapPeak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(dayP50, "day-p50-ms")
		fmt.Fprintf(os.Stderr, `
sync 2024 (%d trading days, %d rows, %.0f rows per day)
  (a) engine, 2 days in parallel : %7.2f s  %9.0f rows/s  %5.1f ms/trading day   target < 10 s, < 50 ms/day
      one day from claim to commit: p50 %.1f ms, p99 %.1f ms                  target < 50 ms
  (b) bare CopyFrom loop         : %7.2f s  %9.0f rows/s  %5.1f ms/trading day
  ratio time (a)/(b)             : %7.2f                                         target <= 1.3
  peak Go heap during (a)        : %7.1f MB;  peak RSS of the process: %s
  the replaced system            : 15-20 minutes per trading day (5.1 stocks/s)
`, len(days), rows, float64(rows)/float64(len(days)),
			engineTime.Seconds(), engineRate, msPerDay, dayP50, dayP99,
			bareTime.Seconds(), bareRate, float64(bareTime.Milliseconds())/float64(len(days)),
			ratio, float64(heapPeak)/(1<<20), peakRSS())
	}
}

// createBare creates bench_bare, the bare loop's table, laid out as daily_bar is: its
// columns, key and indexes, partitioned by year into the same partitions, so that the
// bare loop pays what the engine pays.
func createBare(b *testing.B, p *pgxpool.Pool) {
	_, err := p.Exec(context.Background(), `DO $$
	DECLARE
		p record;
	BEGIN
		CREATE TABLE bench_bare (LIKE daily_bar INCLUDING ALL) PARTITION BY RANGE (trade_date);
		FOR p IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
			FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = 'daily_bar'::regclass LOOP
			EXECUTE format('CREATE TABLE %I PARTITION OF bench_bare %s',
				replace(p.relname, 'daily_bar', 'bench_bare'), p.bound);
		END LOOP;
	END
	$$`)
	require.NoError(b, err)
}

// peakSampler records the peak Go heap while it runs.
type peakSampler struct {
	quit chan struct{}
	peak chan uint64
}

func newPeakSampler() *peakSampler {
	s := &peakSampler{quit: make(chan struct{}), peak: make(chan uint64)}
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-s.quit:
				s.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *peakSampler) stop() uint64 {
	close(s.quit)
	return <-s.peak
}

// peakRSS reads the process's peak resident set from /proc.
func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "VmHWM:"), "kB")))
			return fmt.Sprintf("%.1f MB", float64(kb)/1024)
		}
	}
	return "unknown"
}
