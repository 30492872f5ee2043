package store

import (
	"context"
	"fmt"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// SyncDayQuery selects the trading days of one dataset for the old system's sync
// records: from From to To (inclusive), in Status ("" for any), Limit days from Offset,
// newest first.
type SyncDayQuery struct {
	Dataset       string
	From, To      time.Time
	Status        market.SyncStatus
	Limit, Offset int
}

// SyncDay is what marketsync knows of one trading day of a dataset: its sync record
// state, the rows loaded, and the start, end and error of the attempt that state comes
// from.
type SyncDay struct {
	Day        time.Time
	Status     market.SyncStatus
	Rows       int64
	StartedAt  *time.Time
	FinishedAt *time.Time
	Error      *string
}

// syncDaysSQL derives one record per trading day that marketsync knows of, and answers
// the stats of the days matching the filter with one page of them. A trading day's
// attempt that succeeded or was skipped (already loaded) left it in coverage, which is
// never deleted from; so the days are those of coverage plus those with an open attempt
// (pending or running, in an unfinished batch) or an attempt that failed or was
// cancelled. Each set is one range scan (coverage's key, two small partial indexes of
// batch_days), so the cost follows the days in the range, not the batches. A day is:
//
//	syncing  some unfinished batch runs it now
//	success  it is loaded
//	pending  it waits in an unfinished batch
//	failed   its latest failed or cancelled attempt failed
//	skipped  its latest failed or cancelled attempt was cancelled
//
// The times and the error are read for the page's days only: a loaded day's from the
// attempt that loaded it.
const syncDaysSQL = `
WITH cov AS (
	SELECT day, rows, synced_at, batch_id FROM coverage
	WHERE dataset = $1 AND day BETWEEN $2 AND $3
), open AS (
	SELECT d.day, max(d.started_at) FILTER (WHERE d.status = 'running') AS run_started,
		bool_or(d.status = 'running') AS running
	FROM batch_days d JOIN batches b ON b.id = d.batch_id
	WHERE d.dataset = $1 AND d.status IN ('pending', 'running') AND d.day BETWEEN $2 AND $3
	  AND b.status = ANY($7)
	GROUP BY d.day
), ended AS (
	SELECT DISTINCT ON (day) day, status FROM batch_days
	WHERE dataset = $1 AND trading AND status IN ('failed', 'cancelled') AND day BETWEEN $2 AND $3
	ORDER BY day, finished_at DESC
), rec AS (
	SELECT coalesce(c.day, o.day, e.day) AS day, c.rows, c.synced_at, c.batch_id, o.run_started,
		CASE
			WHEN o.running THEN 'syncing'
			WHEN c.day IS NOT NULL THEN 'success'
			WHEN o.day IS NOT NULL THEN 'pending'
			WHEN e.status = 'failed' THEN 'failed'
			ELSE 'skipped'
		END AS status
	FROM cov c
	FULL JOIN open o ON o.day = c.day
	FULL JOIN ended e ON e.day = coalesce(c.day, o.day)
), matched AS (
	SELECT * FROM rec WHERE $4 = '' OR status = $4
)
SELECT s.total, s.success, s.failed, s.syncing, s.skipped,
	p.day, p.status, coalesce(p.rows, 0),
	CASE p.status WHEN 'syncing' THEN p.run_started WHEN 'success' THEN ok.started_at
		WHEN 'failed' THEN e.started_at WHEN 'skipped' THEN e.started_at END,
	CASE p.status WHEN 'success' THEN coalesce(ok.finished_at, p.synced_at)
		WHEN 'failed' THEN e.finished_at WHEN 'skipped' THEN e.finished_at END,
	CASE p.status WHEN 'failed' THEN e.error END
FROM (SELECT count(*) AS total,
		count(*) FILTER (WHERE status = 'success') AS success,
		count(*) FILTER (WHERE status = 'failed') AS failed,
		count(*) FILTER (WHERE status = 'syncing') AS syncing,
		count(*) FILTER (WHERE status = 'skipped') AS skipped
	  FROM matched) s
LEFT JOIN LATERAL (SELECT * FROM matched ORDER BY day DESC LIMIT $5 OFFSET $6) p ON true
LEFT JOIN batch_days ok
	ON ok.batch_id = p.batch_id AND ok.dataset = $1 AND ok.day = p.day AND ok.status = 'succeeded'
LEFT JOIN LATERAL (
	SELECT started_at, finished_at, error FROM batch_days
	WHERE dataset = $1 AND day = p.day AND trading AND status IN ('failed', 'cancelled')
	ORDER BY finished_at DESC LIMIT 1) e ON p.status IN ('failed', 'skipped')`

// Open ends of a SyncDayQuery's range.
var (
	firstDay = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	lastDay  = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// SyncDays returns one page of the trading days q selects, newest first, and the stats
// of every day it selects, in one statement.
func SyncDays(ctx context.Context, db DB, q SyncDayQuery) ([]SyncDay, market.SyncStats, error) {
	from, to := q.From, q.To
	if from.IsZero() {
		from = firstDay
	}
	if to.IsZero() {
		to = lastDay
	}
	rows, err := db.Query(ctx, syncDaysSQL, q.Dataset, from, to, string(q.Status), q.Limit, q.Offset, market.ActiveStatuses())
	if err != nil {
		return nil, market.SyncStats{}, fmt.Errorf("reading the sync records of %s: %w", q.Dataset, err)
	}
	defer rows.Close()
	var stats market.SyncStats
	var days []SyncDay
	for rows.Next() {
		var d SyncDay
		var day *time.Time
		var status *string
		if err := rows.Scan(&stats.Total, &stats.Success, &stats.Failed, &stats.Syncing, &stats.Skipped,
			&day, &status, &d.Rows, &d.StartedAt, &d.FinishedAt, &d.Error); err != nil {
			return nil, market.SyncStats{}, fmt.Errorf("reading the sync records of %s: %w", q.Dataset, err)
		}
		if day == nil {
			continue // the page is past the end: only the stats
		}
		d.Day, d.Status = *day, market.SyncStatus(*status)
		days = append(days, d)
	}
	if err := rows.Err(); err != nil {
		return nil, market.SyncStats{}, fmt.Errorf("reading the sync records of %s: %w", q.Dataset, err)
	}
	return days, stats, nil
}
