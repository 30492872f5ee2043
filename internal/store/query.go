package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketsync/marketsync/internal/market"
)

// Counts are a batch's days by state; skipped days are Closed (no trading) or
// AlreadyLoaded.
type Counts struct {
	Success, Failed, Closed, AlreadyLoaded, Cancelled, Pending, Running int
	Rows                                                                int64
}

// Skipped is the old API's skipped: closed days and days loaded already.
func (c Counts) Skipped() int { return c.Closed + c.AlreadyLoaded }

// BatchListItem is a batch with its counts, for the history.
type BatchListItem struct {
	Batch
	Counts
}

// Scope narrows ListBatches to unfinished or finished batches.
type Scope string

// Scopes of ListBatches.
const (
	AllBatches      Scope = ""
	ActiveBatches   Scope = "active"
	FinishedBatches Scope = "finished"
)

// ListBatches returns the batches matching f within scope, and how many match in all:
// newest first, or, of finished batches, latest finished first.
func ListBatches(ctx context.Context, db DB, f market.BatchFilter, scope Scope) ([]BatchListItem, int, error) {
	if f.Unfinished {
		scope = ActiveBatches
	}
	where := `($1 = '' OR b.status = $1) AND ($2 = '' OR $2 = ANY(b.datasets))
		AND ($3 = '' OR ($3 = 'active') = (b.status = ANY($5)))
		AND (NOT $4 OR EXISTS (SELECT 1 FROM batch_days f WHERE f.batch_id = b.id AND f.status = 'failed'))`
	args := []any{string(f.Status), f.Dataset, string(scope), f.WithFailures, market.ActiveStatuses()}
	var total int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM batches b WHERE "+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	order := "b.created_at DESC, b.id DESC"
	if scope == FinishedBatches {
		order = "b.finished_at DESC, b.id DESC"
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := db.Query(ctx, `
		SELECT `+prefixed("b")+`,
			count(*) FILTER (WHERE d.status = 'succeeded'), count(*) FILTER (WHERE d.status = 'failed'),
			count(*) FILTER (WHERE d.status = 'skipped' AND NOT d.trading),
			count(*) FILTER (WHERE d.status = 'skipped' AND d.trading), count(*) FILTER (WHERE d.status = 'cancelled'),
			count(*) FILTER (WHERE d.status = 'pending'), count(*) FILTER (WHERE d.status = 'running'),
			coalesce(sum(d.rows), 0)
		FROM (SELECT * FROM batches b WHERE `+where+` ORDER BY `+order+` LIMIT $6 OFFSET $7) b
		LEFT JOIN batch_days d ON d.batch_id = b.id
		GROUP BY `+prefixed("b")+`
		ORDER BY `+order, append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BatchListItem, error) {
		var it BatchListItem
		var priority int16
		b := &it.Batch
		c := &it.Counts
		err := r.Scan(&b.ID, &b.TaskID, &b.Datasets, &b.Start, &b.End, &b.Force, &priority, &b.Status,
			&b.Queue, &b.Message, &b.Total, &b.TradingDays, &b.CreatedAt, &b.CreatedBy, &b.CreatedFrom,
			&b.StartedAt, &b.FinishedAt, &b.CancelledBy, &b.Version, &b.RunStartedAt, &b.RunSeconds, &b.Source, &b.CreatedUser,
			&c.Success, &c.Failed, &c.Closed, &c.AlreadyLoaded, &c.Cancelled, &c.Pending, &c.Running, &c.Rows)
		b.Priority = int(priority)
		return it, err
	})
	return items, total, err
}

// Errors pages through every failed attempt of a batch, newest first.
func Errors(ctx context.Context, db DB, batchID int64, limit, offset int) ([]market.ErrorRecord, int, error) {
	var total int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM day_errors WHERE batch_id = $1", batchID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.Query(ctx, `
		SELECT e.id, e.dataset, e.day, e.attempt, e.final, coalesce(d.status IN ('succeeded', 'skipped'), false),
			e.message, e.at
		FROM day_errors e LEFT JOIN batch_days d ON d.batch_id = e.batch_id AND d.dataset = e.dataset AND d.day = e.day
		WHERE e.batch_id = $1 ORDER BY e.id DESC LIMIT $2 OFFSET $3`, batchID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (market.ErrorRecord, error) {
		var e market.ErrorRecord
		var day time.Time
		err := r.Scan(&e.ID, &e.Dataset, &day, &e.Attempt, &e.Final, &e.Resolved, &e.Message, &e.Time)
		e.Date = day.Format(market.DateLayout)
		return e, err
	})
	return recs, total, err
}

// CoveredDay is what coverage knows of one (dataset, day): its rows, when and by which
// source it loaded, and what verifying it found (nil: never verified).
type CoveredDay struct {
	Rows       int64
	SyncedAt   time.Time
	Source     string
	VerifiedOK *bool
}

// Covered returns the loaded days of dataset between start and end, and the days not
// loaded for which some batch's day failed.
func Covered(ctx context.Context, db DB, dataset string, start, end time.Time) (map[time.Time]CoveredDay, map[time.Time]bool, error) {
	rows, err := db.Query(ctx, `SELECT day, rows, synced_at, source, verified_ok FROM coverage WHERE dataset = $1 AND day BETWEEN $2 AND $3`, dataset, start, end)
	if err != nil {
		return nil, nil, err
	}
	loaded := make(map[time.Time]CoveredDay)
	var day time.Time
	var c CoveredDay
	if _, err := pgx.ForEachRow(rows, []any{&day, &c.Rows, &c.SyncedAt, &c.Source, &c.VerifiedOK}, func() error {
		loaded[day] = c
		return nil
	}); err != nil {
		return nil, nil, err
	}
	rows, err = db.Query(ctx, `SELECT DISTINCT day FROM batch_days WHERE dataset = $1 AND status = 'failed' AND day BETWEEN $2 AND $3`, dataset, start, end)
	if err != nil {
		return nil, nil, err
	}
	failed := make(map[time.Time]bool)
	if _, err := pgx.ForEachRow(rows, []any{&day}, func() error {
		if _, ok := loaded[day]; !ok {
			failed[day] = true
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	return loaded, failed, nil
}

// RecentDayTime is the median time of the latest 200 days loaded (claim to commit), or
// zero when none was.
func RecentDayTime(ctx context.Context, db DB) (time.Duration, error) {
	var secs *float64
	err := db.QueryRow(ctx, `
		SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))
		FROM (SELECT started_at, finished_at FROM batch_days
		      WHERE status = 'succeeded' AND started_at IS NOT NULL
		      ORDER BY finished_at DESC LIMIT 200) d`).Scan(&secs)
	if err != nil || secs == nil {
		return 0, err
	}
	return time.Duration(*secs * float64(time.Second)), nil
}
