package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketsync/marketsync/internal/market"
)

// WorkerLockKey is the first key of the advisory lock that a working process holds on
// its worker id (the second key) for as long as it lives. PostgreSQL frees it the moment
// the process's connection goes, so a free lock means a dead worker.
const WorkerLockKey = 0x6d77 // "mw"

// RegisterWorker records a process that works queue and returns its worker id.
func RegisterWorker(ctx context.Context, db DB, queue, host string, pid int) (int32, error) {
	var id int32
	err := db.QueryRow(ctx, "INSERT INTO workers (queue, host, pid) VALUES ($1, $2, $3) RETURNING id",
		queue, host, pid).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("registering the worker: %w", err)
	}
	return id, nil
}

// LockWorker takes worker id's lock on conn, for the life of that session.
func LockWorker(ctx context.Context, db DB, id int32) error {
	_, err := db.Exec(ctx, "SELECT pg_advisory_lock($1, $2)", WorkerLockKey, id)
	return err
}

// LiveWorkers returns the ids of the workers whose process holds its lock now.
func LiveWorkers(ctx context.Context, db DB) (map[int32]bool, error) {
	rows, err := db.Query(ctx, `
		SELECT objid::bigint FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid = $1 AND objsubid = 2
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, WorkerLockKey)
	if err != nil {
		return nil, fmt.Errorf("listing live workers: %w", err)
	}
	live := make(map[int32]bool)
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
		live[int32(id)] = true
		return nil
	})
	return live, err
}

// PruneWorkers deletes the records of workers that are gone and started more than age
// ago.
func PruneWorkers(ctx context.Context, db DB, age time.Duration) error {
	live, err := LiveWorkers(ctx, db)
	if err != nil {
		return err
	}
	ids := make([]int32, 0, len(live))
	for id := range live {
		ids = append(ids, id)
	}
	_, err = db.Exec(ctx, `DELETE FROM workers WHERE NOT (id = ANY($1))
		AND started_at < clock_timestamp() - make_interval(secs => $2)`, ids, age.Seconds())
	return err
}

// DayRef names one generation of one (dataset, day) of a batch: what a queued job works.
type DayRef struct {
	BatchID int64
	Dataset string
	Day     time.Time
	Gen     int
}

// RequeueLost moves the day of ref, whose job's worker died, back to pending with a new
// gen (whether the worker had claimed it or not), and returns it; ok is false when the
// day moved on meanwhile.
func RequeueLost(ctx context.Context, db DB, ref DayRef) (Day, bool, error) {
	d := Day{Dataset: ref.Dataset, Day: ref.Day, Status: market.DayPending, Trading: true}
	err := db.QueryRow(ctx, `
		UPDATE batch_days SET status = 'pending', gen = gen + 1, started_at = NULL, job_id = NULL
		WHERE batch_id = $1 AND dataset = $2 AND day = $3 AND gen = $4 AND status IN ('pending', 'running')
		RETURNING gen`, ref.BatchID, ref.Dataset, ref.Day, ref.Gen).Scan(&d.Gen)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	return d, err == nil, err
}

// FinalizeLostJob marks the River job jobID cancelled when it is still running. Only
// for a job whose worker is proven dead (its lock is free): River has no call that ends
// a job its own client cannot finish, and its rescuer would do the same only after
// RescueStuckJobsAfter plus up to 30 s. This is the one statement that writes River's
// table; TestLostJobsAreFinalized pins it against River's own reading of the row.
func FinalizeLostJob(ctx context.Context, db DB, jobID int64) error {
	_, err := db.Exec(ctx, `
		UPDATE river_job SET state = 'cancelled', finalized_at = clock_timestamp()
		WHERE id = $1 AND state = 'running'`, jobID)
	if err != nil {
		return fmt.Errorf("finalizing the lost job %d: %w", jobID, err)
	}
	return nil
}
