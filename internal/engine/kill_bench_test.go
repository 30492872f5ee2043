package engine_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/demo"
)

// BenchmarkKilledWorkerRecovery kills a worker process mid-day 20 times while another
// process works the same queue, and measures how long each killed day takes to be
// running again in the survivor: from the kill to the day's new start (target: under
// 10 s at p99). Days take 300 ms, two at a time in each process.
func BenchmarkKilledWorkerRecovery(b *testing.B) {
	const kills = 20
	ctx := context.Background()
	for b.Loop() {
		survivor := setup(b, &hookSource{inner: demo.New(cal(b), demo.Config{Latency: 300 * time.Millisecond})},
			engine.Config{Parallelism: 2})
		snap, err := survivor.engine.Start(ctx, market.Spec{Start: date("2016-01-01"), End: date("2022-12-31"), Force: true})
		require.NoError(b, err)
		rc, err := river.NewClient(riverpgxv5.New(survivor.pool), &river.Config{})
		require.NoError(b, err)
		var delays []time.Duration
		for range kills {
			delays = append(delays, killOnce(b, survivor, rc, snap.TaskID)...)
		}
		require.NoError(b, survivor.engine.Cancel(ctx, snap.TaskID, market.Actor{By: "bench"}))
		slices.Sort(delays)
		p50, p99 := delays[len(delays)/2], delays[min(len(delays)-1, len(delays)*99/100)]
		b.ReportMetric(p50.Seconds(), "recover-p50-s")
		b.ReportMetric(p99.Seconds(), "recover-p99-s")
		fmt.Fprintf(os.Stderr, `
a worker killed mid-day, %d days lost over %d kills, each running again in the survivor after:
  p50 %.2f s, p99 %.2f s, max %.2f s                                        target p99 < 10 s
`, len(delays), kills, p50.Seconds(), p99.Seconds(), delays[len(delays)-1].Seconds())
	}
}

// lostDay is a day a killed worker held: its key and the generation it ran at.
type lostDay struct {
	dataset string
	day     time.Time
	gen     int
}

// killOnce starts a worker process on e's database and queue, kills it once it has
// claimed a day, and returns, for each day it held, the time from the kill to that day's
// new start.
func killOnce(b *testing.B, e *env, rc *river.Client[pgx.Tx], taskID string) []time.Duration {
	ctx := context.Background()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	child.Env = append(os.Environ(), "MARKETSYNC_TEST_WORKER="+river.QueueDefault, "MARKETSYNC_TEST_LATENCY=300ms",
		"DATABASE_URL="+e.url)
	require.NoError(b, child.Start())
	var lost []lostDay
	deadline := time.Now().Add(30 * time.Second)
	for len(lost) == 0 {
		require.True(b, time.Now().Before(deadline), "the worker process claimed no day")
		time.Sleep(20 * time.Millisecond)
		lost = childDays(b, e, rc, taskID, child.Process.Pid)
	}
	require.NoError(b, child.Process.Kill())
	killed := time.Now()
	_ = child.Wait()
	lost = childDays(b, e, rc, taskID, child.Process.Pid) // what it still held when it died
	var out []time.Duration
	for _, d := range lost {
		deadline := time.Now().Add(60 * time.Second)
		for {
			var gen int
			var started *time.Time
			require.NoError(b, e.pool.QueryRow(ctx, `
				SELECT d.gen, d.started_at FROM batch_days d JOIN batches b ON b.id = d.batch_id
				WHERE b.task_id = $1 AND d.dataset = $2 AND d.day = $3`, taskID, d.dataset, d.day).Scan(&gen, &started))
			if gen > d.gen && started != nil {
				out = append(out, started.Sub(killed))
				break
			}
			require.True(b, time.Now().Before(deadline), "day %s never ran again", d.day)
			time.Sleep(5 * time.Millisecond)
		}
	}
	return out
}

// childDays lists the running days of the batch whose job the process pid took.
func childDays(b *testing.B, e *env, rc *river.Client[pgx.Tx], taskID string, pid int) []lostDay {
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, `
		SELECT d.dataset, d.day, d.gen, d.job_id FROM batch_days d JOIN batches b ON b.id = d.batch_id
		WHERE b.task_id = $1 AND d.status = 'running' AND d.job_id IS NOT NULL`, taskID)
	require.NoError(b, err)
	type running struct {
		lostDay
		job int64
	}
	var all []running
	for rows.Next() {
		var r running
		require.NoError(b, rows.Scan(&r.dataset, &r.day, &r.gen, &r.job))
		all = append(all, r)
	}
	require.NoError(b, rows.Err())
	var worker string
	err = e.pool.QueryRow(ctx, "SELECT 'marketsync-w' || id FROM workers WHERE pid = $1 ORDER BY id DESC LIMIT 1", pid).Scan(&worker)
	if err != nil {
		return nil // not registered yet
	}
	var out []lostDay
	for _, r := range all {
		job, err := rc.JobGet(ctx, r.job)
		if err == nil && len(job.AttemptedBy) > 0 && job.AttemptedBy[len(job.AttemptedBy)-1] == worker {
			out = append(out, r.lostDay)
		}
	}
	return out
}
