package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/marketsync/marketsync/internal/market"
)

// scheduleSelect reads schedules with the state of the batch each started last.
const scheduleSelect = `
	SELECT s.id, s.dataset, s.source, extract(hour FROM s.fire_at)::int, extract(minute FROM s.fire_at)::int,
		s.enabled, s.last_day, s.last_fired_at, s.last_outcome, s.last_message, coalesce(s.last_task_id, ''),
		coalesce(b.status, ''), s.updated_at, s.updated_by
	FROM schedules s LEFT JOIN batches b ON b.task_id = s.last_task_id`

func scanSchedule(row pgx.Row) (*market.Schedule, error) {
	var s market.Schedule
	err := row.Scan(&s.ID, &s.Dataset, &s.Source, &s.At.Hour, &s.At.Minute, &s.Enabled, &s.LastDay,
		&s.LastFiredAt, &s.LastOutcome, &s.LastMessage, &s.LastTaskID, &s.LastBatchStatus, &s.UpdatedAt, &s.UpdatedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, market.ErrNotFound
	}
	return &s, err
}

// Schedules lists every schedule, by dataset and source.
func Schedules(ctx context.Context, db DB) ([]market.Schedule, error) {
	rows, err := db.Query(ctx, scheduleSelect+" ORDER BY s.dataset, s.source")
	if err != nil {
		return nil, fmt.Errorf("listing schedules: %w", err)
	}
	defer rows.Close()
	var out []market.Schedule
	for rows.Next() {
		s, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("reading schedules: %w", err)
		}
		out = append(out, *s)
	}
	return out, rows.Err()
}

// DeleteSchedule removes schedule id and returns it as it was.
func DeleteSchedule(ctx context.Context, db DB, id int64) (*market.Schedule, error) {
	var s market.Schedule
	err := db.QueryRow(ctx, `DELETE FROM schedules WHERE id = $1 RETURNING id, dataset, source`, id).Scan(&s.ID, &s.Dataset, &s.Source)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no schedule #%d", market.ErrNotFound, id)
	}
	return &s, err
}

// LockSchedule locks schedule id's row in tx, unless another transaction holds it (then
// false: that one is firing it).
func LockSchedule(ctx context.Context, tx pgx.Tx, id int64) (*market.Schedule, bool, error) {
	s, err := scanSchedule(tx.QueryRow(ctx, scheduleSelect+" WHERE s.id = $1 FOR UPDATE OF s SKIP LOCKED", id))
	if errors.Is(err, market.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("locking schedule %d: %w", id, err)
	}
	return s, true, nil
}

// Firing is what one firing of a schedule did, recorded with its claim.
type Firing struct {
	// Day is the trading day it was due on.
	Day     time.Time
	At      time.Time
	Outcome market.ScheduleOutcome
	Message string
	// TaskID is the batch it started; "" keeps the last one (the firing started none).
	TaskID string
}

// RecordFiring claims the schedule's firing for f.Day and records what it did, in the
// transaction that started its batch (the row is locked by LockSchedule).
func RecordFiring(ctx context.Context, tx pgx.Tx, id int64, f Firing) error {
	var task *string
	if f.TaskID != "" {
		task = &f.TaskID
	}
	_, err := tx.Exec(ctx, `
		UPDATE schedules SET last_day = $2, last_fired_at = $3, last_outcome = $4, last_message = $5,
			last_task_id = coalesce($6, last_task_id),
			ended_reported = CASE WHEN $6::text IS NULL THEN ended_reported ELSE false END
		WHERE id = $1`, id, f.Day, f.At, string(f.Outcome), f.Message, task)
	if err != nil {
		return fmt.Errorf("recording the firing of schedule %d: %w", id, err)
	}
	return nil
}

// SaveSchedule adds the schedule of (in.Dataset, in.Source), owing no firing before
// the trading day after due (nil: owing the latest one), or changes its time and
// whether it is enabled; who records the change.
func SaveSchedule(ctx context.Context, db DB, in market.ScheduleInput, due *time.Time, who string) (*market.Schedule, error) {
	var id int64
	err := db.QueryRow(ctx, `
		INSERT INTO schedules (dataset, source, fire_at, enabled, last_day, updated_by)
		VALUES ($1, $2, make_time($3, $4, 0), $5, $6, $7)
		ON CONFLICT (dataset, source) DO UPDATE SET fire_at = excluded.fire_at, enabled = excluded.enabled,
			updated_at = now(), updated_by = excluded.updated_by
		RETURNING id`, in.Dataset, in.Source, in.At.Hour, in.At.Minute, in.Enabled, due, who).Scan(&id)
	if err != nil {
		return nil, fmt.Errorf("saving the schedule of %s from %s: %w", in.Dataset, in.Source, err)
	}
	return scanSchedule(db.QueryRow(ctx, scheduleSelect+" WHERE s.id = $1", id))
}

// NewSchedule is a schedule to seed, with the trading day whose firing it does not owe.
type NewSchedule struct {
	market.ScheduleInput
	Due *time.Time
}

// SeedSchedules adds schedules when there are none at all (processes starting together
// take turns on the table's lock), and returns how many it added: the environment seeds
// an empty table, the settings page decides after that.
func SeedSchedules(ctx context.Context, pool *pgxpool.Pool, seeds []NewSchedule, who string) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE schedules IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		var any bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schedules)").Scan(&any); err != nil || any {
			return err
		}
		for _, s := range seeds {
			if _, err := SaveSchedule(ctx, tx, s.ScheduleInput, s.Due, who); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("seeding schedules: %w", err)
	}
	return n, nil
}

// LastLoaded is the latest day of dataset that is loaded (false: none is).
func LastLoaded(ctx context.Context, db DB, dataset string) (time.Time, bool, error) {
	var d *time.Time
	if err := db.QueryRow(ctx, "SELECT max(day) FROM coverage WHERE dataset = $1", dataset).Scan(&d); err != nil {
		return time.Time{}, false, fmt.Errorf("reading the last day of %s loaded: %w", dataset, err)
	}
	if d == nil {
		return time.Time{}, false, nil
	}
	return *d, true, nil
}

// ReportEndedSchedules marks the schedules whose last batch has ended since it started
// and returns them: each end once, to one process, however many ask together.
func ReportEndedSchedules(ctx context.Context, db DB) ([]market.ScheduleRun, error) {
	rows, err := db.Query(ctx, `
		UPDATE schedules s SET ended_reported = true
		FROM batches b
		WHERE b.task_id = s.last_task_id AND NOT s.ended_reported
			AND b.status IN ('completed', 'failed', 'cancelled')
		RETURNING s.id, s.dataset, s.source, s.last_day, s.last_task_id, b.status,
			(SELECT count(*) FROM batch_days d WHERE d.batch_id = b.id AND d.status = 'failed')::int`)
	if err != nil {
		return nil, fmt.Errorf("reading the ends of scheduled batches: %w", err)
	}
	var out []market.ScheduleRun
	var r market.ScheduleRun
	var day *time.Time
	_, err = pgx.ForEachRow(rows, []any{&r.ScheduleID, &r.Dataset, &r.Source, &day, &r.TaskID, &r.BatchStatus, &r.FailedDays}, func() error {
		if day != nil {
			r.Day = *day
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
