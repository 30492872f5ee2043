package store

import (
	"context"
	"fmt"

	"github.com/marketsync/marketsync/internal/market"
)

// Stats answers the counts that /metrics exports, one cheap query each: the batches by
// state (a small table), the days of unfinished batches by state (through the partial
// index of active batches), and the days waiting for a worker.
type Stats struct {
	DB DB
}

// Batches counts every batch by state; every state is present, zero included.
func (s Stats) Batches(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64)
	for _, st := range market.BatchStatuses() {
		out[string(st)] = 0
	}
	return out, s.count(ctx, out, "counting batches", `SELECT status, count(*) FROM batches GROUP BY status`)
}

// Days counts the days (dataset, calendar day) of unfinished batches by state; every
// state is present, zero included. Finished batches' days never change and are left out,
// so the query stays small however long the history.
func (s Stats) Days(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64)
	for _, st := range market.DayStatuses() {
		out[string(st)] = 0
	}
	return out, s.count(ctx, out, "counting days", `
		SELECT d.status, count(*) FROM batches b JOIN batch_days d ON d.batch_id = b.id
		WHERE b.status = ANY($1) GROUP BY d.status`, market.ActiveStatuses())
}

// QueueDepth counts the trading days waiting for a worker: the pending days of queued
// and running batches (a paused batch's days are out of the queue until it resumes).
func (s Stats) QueueDepth(ctx context.Context) (int64, error) {
	var n int64
	err := s.DB.QueryRow(ctx, `
		SELECT count(*) FROM batches b JOIN batch_days d ON d.batch_id = b.id
		WHERE b.status = ANY($1) AND d.status = 'pending'`,
		[]market.BatchStatus{market.BatchQueued, market.BatchRunning}).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting queued days: %w", err)
	}
	return n, nil
}

// count runs a query of (status, count) rows into out.
func (s Stats) count(ctx context.Context, out map[string]int64, what, sql string, args ...any) error {
	rows, err := s.DB.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		out[st] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
