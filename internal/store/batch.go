package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/marketsync/marketsync/internal/market"
)

// DB is what the queries need: a pool, a connection or a transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Event times (a day started, finished, a batch ended) are clock_timestamp(), not now():
// now() is when the transaction began, before the day's COPY.

// Batch is a batches row.
type Batch struct {
	ID          int64
	TaskID      string
	Datasets    []string
	Start, End  time.Time
	Force       bool
	Priority    int
	Status      market.BatchStatus
	Queue       string
	Message     string
	Total       int
	TradingDays int
	CreatedAt   time.Time
	CreatedBy   string
	CreatedFrom string
	// CreatedUser is the signed-in user who started it, if any.
	CreatedUser *string
	StartedAt   *time.Time
	FinishedAt  *time.Time
	CancelledBy *string
	// Version grows with every transaction that may have changed the batch's days.
	Version int64
	// RunStartedAt is when the current (or last) run began; RunSeconds the time of the
	// runs before it (a retry of a finished batch starts a new run).
	RunStartedAt *time.Time
	RunSeconds   float64
	// Source names the source the batch loads from.
	Source string
}

// Duration is how long the batch has run, all its runs together, as of now.
func (b *Batch) Duration(now time.Time) time.Duration {
	d := time.Duration(b.RunSeconds * float64(time.Second))
	if b.RunStartedAt == nil {
		return d
	}
	end := now
	if b.FinishedAt != nil {
		end = *b.FinishedAt
	}
	return d + end.Sub(*b.RunStartedAt)
}

// Day is a batch_days row.
type Day struct {
	Dataset    string
	Day        time.Time
	Trading    bool
	Status     market.DayStatus
	Gen        int
	Attempts   int
	Rows       int64
	JobID      *int64
	StartedAt  *time.Time
	FinishedAt *time.Time
	Error      *string
}

var batchCols = []string{"id", "task_id", "datasets", "start_date", "end_date", "force", "priority",
	"status", "queue", "message", "total", "trading_days", "created_at", "created_by", "created_from",
	"started_at", "finished_at", "cancelled_by", "version", "run_started_at", "run_seconds", "source", "created_user"}

var batchColumns = strings.Join(batchCols, ", ")

// prefixed qualifies the batch columns with a table alias.
func prefixed(alias string) string {
	return alias + "." + strings.Join(batchCols, ", "+alias+".")
}

func scanBatch(row pgx.Row) (*Batch, error) {
	var b Batch
	var priority int16
	err := row.Scan(&b.ID, &b.TaskID, &b.Datasets, &b.Start, &b.End, &b.Force, &priority, &b.Status,
		&b.Queue, &b.Message, &b.Total, &b.TradingDays, &b.CreatedAt, &b.CreatedBy, &b.CreatedFrom,
		&b.StartedAt, &b.FinishedAt, &b.CancelledBy, &b.Version, &b.RunStartedAt, &b.RunSeconds, &b.Source, &b.CreatedUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, market.ErrNotFound
	}
	b.Priority = int(priority)
	return &b, err
}

// InsertBatch inserts b with a task id built from base ("{start}_{end}_{unix}"): base
// itself when free, else base-2, base-3, …; it sets b.ID, b.TaskID and b.CreatedAt.
func InsertBatch(ctx context.Context, db DB, b *Batch, base string) error {
	for n := 1; n < 1000; n++ {
		id := base
		if n > 1 {
			id = base + "-" + strconv.Itoa(n)
		}
		err := db.QueryRow(ctx, `
			INSERT INTO batches (task_id, datasets, start_date, end_date, force, priority, status, queue,
				message, total, trading_days, created_by, created_from, started_at, finished_at, source, created_user)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			ON CONFLICT (task_id) DO NOTHING
			RETURNING id, created_at`,
			id, b.Datasets, b.Start, b.End, b.Force, b.Priority, b.Status, b.Queue, b.Message,
			b.Total, b.TradingDays, b.CreatedBy, b.CreatedFrom, b.StartedAt, b.FinishedAt, b.Source, b.CreatedUser,
		).Scan(&b.ID, &b.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("inserting batch: %w", err)
		}
		b.TaskID = id
		return nil
	}
	return fmt.Errorf("no free task id for %s", base)
}

// InsertDays copies a new batch's days in.
func InsertDays(ctx context.Context, tx pgx.Tx, batchID int64, days []Day) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"batch_days"},
		[]string{"batch_id", "dataset", "day", "trading", "status", "finished_at"},
		pgx.CopyFromSlice(len(days), func(i int) ([]any, error) {
			d := days[i]
			return []any{batchID, d.Dataset, d.Day, d.Trading, string(d.Status), d.FinishedAt}, nil
		}))
	if err != nil {
		return fmt.Errorf("inserting days: %w", err)
	}
	return nil
}

// BatchByTaskID returns the batch taskID, or market.ErrNotFound.
func BatchByTaskID(ctx context.Context, db DB, taskID string) (*Batch, error) {
	return scanBatch(db.QueryRow(ctx, "SELECT "+batchColumns+" FROM batches WHERE task_id = $1", taskID))
}

// LockBatch locks the batch taskID's row in tx and bumps its version. Every transaction
// that changes a batch's days takes this lock first, so counting what is left is never
// racy and a reader that sees the same version has seen the same days.
func LockBatch(ctx context.Context, tx pgx.Tx, taskID string) (*Batch, error) {
	return scanBatch(tx.QueryRow(ctx, "UPDATE batches SET version = version + 1 WHERE task_id = $1 RETURNING "+batchColumns, taskID))
}

// LockBatchByID is LockBatch by the batch's id.
func LockBatchByID(ctx context.Context, tx pgx.Tx, id int64) (*Batch, error) {
	return scanBatch(tx.QueryRow(ctx, "UPDATE batches SET version = version + 1 WHERE id = $1 RETURNING "+batchColumns, id))
}

// Days returns every day of a batch in date order.
func Days(ctx context.Context, db DB, batchID int64) ([]Day, error) {
	rows, err := db.Query(ctx, `
		SELECT dataset, day, trading, status, gen, attempts, rows, job_id, started_at, finished_at, error
		FROM batch_days WHERE batch_id = $1 ORDER BY day, dataset`, batchID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Day, error) {
		var d Day
		err := r.Scan(&d.Dataset, &d.Day, &d.Trading, &d.Status, &d.Gen, &d.Attempts, &d.Rows,
			&d.JobID, &d.StartedAt, &d.FinishedAt, &d.Error)
		return d, err
	})
}

// SetBatchStatus moves a batch to status; started and finished stamp the times.
func SetBatchStatus(ctx context.Context, db DB, id int64, status market.BatchStatus, message string) error {
	_, err := db.Exec(ctx, `
		UPDATE batches SET status = $2, message = $3,
			started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, clock_timestamp()) ELSE started_at END,
			run_started_at = CASE WHEN $2 = 'running' THEN coalesce(run_started_at, clock_timestamp()) ELSE run_started_at END,
			finished_at = CASE WHEN $2 IN ('completed', 'failed', 'cancelled') THEN clock_timestamp() ELSE NULL END
		WHERE id = $1`, id, status, message)
	return err
}

// FinishIfDone ends a batch whose days are all finished: cancelled when it was
// cancelling, completed otherwise. The caller holds the batch lock. It reports the
// final status, or "" when days are left.
func FinishIfDone(ctx context.Context, tx pgx.Tx, id int64) (market.BatchStatus, error) {
	var status market.BatchStatus
	err := tx.QueryRow(ctx, `
		UPDATE batches SET
			status = CASE WHEN status = 'cancelling' THEN 'cancelled' ELSE 'completed' END,
			started_at = coalesce(started_at, clock_timestamp()),
			run_started_at = coalesce(run_started_at, clock_timestamp()),
			finished_at = clock_timestamp()
		WHERE id = $1 AND status = ANY($2)
		  AND NOT EXISTS (SELECT 1 FROM batch_days WHERE batch_id = $1 AND status IN ('pending', 'running'))
		RETURNING status`, id, market.ActiveStatuses()).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return status, err
}

// Notify announces a change of batch taskID on channel, delivered at commit.
func Notify(ctx context.Context, db DB, channel, taskID string) error {
	_, err := db.Exec(ctx, "SELECT pg_notify($1, $2)", channel, taskID)
	return err
}

// ClaimParams names the day a job claims: its generation, the job and its attempt, and
// the channel on which the change is announced.
type ClaimParams struct {
	DayRef
	JobID   int64
	Attempt int
	Channel string
}

// ClaimDay marks a day running for its job when the batch may run (queued or running)
// and the job carries the day's current gen, moves a queued batch to running and
// notifies the channel. It reports false when the job is stale or the batch is paused,
// cancelling or finished; then it changes nothing, the batch's state included. It is one transaction sent in one round trip, and it does not
// wait for the disk: a claim lost in a crash only leaves the day pending, which the
// queue redoes. The batch row is locked before the day, like every day transition.
func ClaimDay(ctx context.Context, pool *pgxpool.Pool, p ClaimParams) (*Batch, bool, error) {
	batch := &pgx.Batch{}
	batch.Queue("BEGIN")
	batch.Queue("SET LOCAL synchronous_commit = off")
	claim := batch.Queue(`
		WITH b AS (
			UPDATE batches SET version = version + 1, status = 'running',
				started_at = coalesce(started_at, clock_timestamp()),
				run_started_at = coalesce(run_started_at, clock_timestamp())
			WHERE id = $1 AND status IN ('queued', 'running')
			  AND EXISTS (SELECT 1 FROM batch_days WHERE batch_id = $1 AND dataset = $2 AND day = $3
			              AND gen = $4 AND status IN ('pending', 'running'))
			RETURNING `+batchColumns+`
		), d AS (
			UPDATE batch_days SET status = 'running', attempts = $6, job_id = $5,
				started_at = clock_timestamp(), finished_at = NULL
			WHERE batch_id = $1 AND dataset = $2 AND day = $3 AND gen = $4
			  AND status IN ('pending', 'running') AND EXISTS (SELECT 1 FROM b)
			RETURNING batch_id
		)
		SELECT `+prefixed("b")+`, pg_notify($7, b.task_id) IS NULL
		FROM b JOIN d ON d.batch_id = b.id`,
		p.BatchID, p.Dataset, p.Day, p.Gen, p.JobID, p.Attempt, p.Channel)
	var b *Batch
	claimed := false
	claim.QueryRow(func(row pgx.Row) error {
		var err error
		b, err = scanBatch(extraColumn{row})
		switch {
		case errors.Is(err, market.ErrNotFound):
			return nil // not claimed
		case err != nil:
			return err
		}
		claimed = true
		return nil
	})
	batch.Queue("COMMIT")
	if err := pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, false, fmt.Errorf("claiming %s %s: %w", p.Dataset, p.Day.Format(market.DateLayout), err)
	}
	return b, claimed, nil
}

// extraColumn scans a batch row followed by one more column, which it discards.
type extraColumn struct{ pgx.Row }

func (r extraColumn) Scan(dest ...any) error {
	var ignored bool
	return r.Row.Scan(append(dest, &ignored)...)
}

// ErrStale reports that a day moved on while a job worked it (queued again by a reaper,
// resume or retry, or already finished by another run of the same job): that job's
// result is dropped.
var ErrStale = errors.New("the day was queued again meanwhile")

// FinishDay records the end of a running day for the job of generation gen: its state,
// rows loaded and error (nil when none). It returns ErrStale when the day is no longer
// running at that gen.
func FinishDay(ctx context.Context, db DB, batchID int64, dataset string, day time.Time, gen int, status market.DayStatus, rows int64, errMsg *string) error {
	tag, err := db.Exec(ctx, `
		UPDATE batch_days SET status = $5, rows = $6, error = $7,
			finished_at = CASE WHEN $5 = 'pending' THEN NULL ELSE clock_timestamp() END
		WHERE batch_id = $1 AND dataset = $2 AND day = $3 AND gen = $4 AND status = 'running'`,
		batchID, dataset, day, gen, status, rows, errMsg)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrStale
	}
	return err
}

// RecordError keeps one failed attempt of a day.
func RecordError(ctx context.Context, db DB, batchID int64, dataset string, day time.Time, attempt int, final bool, msg string) error {
	_, err := db.Exec(ctx, `
		INSERT INTO day_errors (batch_id, dataset, day, attempt, final, message, at)
		VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp())`,
		batchID, dataset, day, attempt, final, msg)
	return err
}

// FailPending fails a batch's days of dataset that have not started, with msg, and
// returns how many.
func FailPending(ctx context.Context, db DB, batchID int64, dataset, msg string) (int64, error) {
	tag, err := db.Exec(ctx, `
		UPDATE batch_days SET status = 'failed', error = $3, finished_at = clock_timestamp()
		WHERE batch_id = $1 AND dataset = $2 AND status = 'pending'`, batchID, dataset, msg)
	return tag.RowsAffected(), err
}

// CancelPending cancels the days of a batch that have not started.
func CancelPending(ctx context.Context, db DB, batchID int64) error {
	_, err := db.Exec(ctx, `
		UPDATE batch_days SET status = 'cancelled', finished_at = clock_timestamp()
		WHERE batch_id = $1 AND status = 'pending'`, batchID)
	return err
}

// CountDays counts a batch's days by state.
func CountDays(ctx context.Context, db DB, batchID int64) (Counts, error) {
	var c Counts
	err := db.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'),
			count(*) FILTER (WHERE status = 'skipped' AND NOT trading), count(*) FILTER (WHERE status = 'skipped' AND trading),
			count(*) FILTER (WHERE status = 'cancelled'), count(*) FILTER (WHERE status = 'pending'),
			count(*) FILTER (WHERE status = 'running'), coalesce(sum(rows), 0)
		FROM batch_days WHERE batch_id = $1`, batchID).Scan(&c.Success, &c.Failed, &c.Closed, &c.AlreadyLoaded,
		&c.Cancelled, &c.Pending, &c.Running, &c.Rows)
	return c, err
}

// Requeue moves a batch's days in the given states back to pending with a new gen and
// returns them, so the caller can queue one job each.
func Requeue(ctx context.Context, db DB, batchID int64, from ...market.DayStatus) ([]Day, error) {
	states := make([]string, len(from))
	for i, s := range from {
		states[i] = string(s)
	}
	rows, err := db.Query(ctx, `
		UPDATE batch_days SET status = 'pending', gen = gen + 1, finished_at = NULL, started_at = NULL, job_id = NULL
		WHERE batch_id = $1 AND status = ANY($2) AND trading
		RETURNING dataset, day, gen`, batchID, states)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Day, error) {
		d := Day{Status: market.DayPending}
		err := r.Scan(&d.Dataset, &d.Day, &d.Gen)
		return d, err
	})
}

// IsCovered reports whether (dataset, day) is loaded already.
func IsCovered(ctx context.Context, db DB, dataset string, day time.Time) (bool, error) {
	var ok bool
	err := db.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM coverage WHERE dataset = $1 AND day = $2)", dataset, day).Scan(&ok)
	return ok, err
}

// LockDay takes the transaction-scoped lock on (dataset, day): two batches never load
// the same day at the same time.
func LockDay(ctx context.Context, tx pgx.Tx, dataset string, day time.Time) error {
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1), ($2::date - '2000-01-01'::date))", dataset, day)
	if err != nil {
		return fmt.Errorf("locking %s %s: %w", dataset, day.Format(market.DateLayout), err)
	}
	return nil
}

// DayLoad names what ReplaceDay loads: one day of one dataset, for a batch, from a
// source.
type DayLoad struct {
	Dataset market.Dataset
	Day     time.Time
	BatchID int64
	Source  string
}

// ReplaceDay replaces the rows of one (dataset, day): it deletes what is there and
// streams rows in with binary COPY, inside tx, and records the day in coverage (which
// source loaded it; not verified yet). The caller holds the day's lock and commits or
// rolls back.
func ReplaceDay(ctx context.Context, tx pgx.Tx, l DayLoad, rows market.Rows) (int64, error) {
	ds, day, batchID := l.Dataset, l.Day, l.BatchID
	if _, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{ds.Table}.Sanitize()+" WHERE "+
		pgx.Identifier{ds.DateColumn}.Sanitize()+" = $1", day); err != nil {
		return 0, fmt.Errorf("deleting %s %s: %w", ds.Name, day.Format(market.DateLayout), err)
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{ds.Table}, ds.ColumnNames(), rows)
	if err != nil {
		return 0, fmt.Errorf("copying %s %s: %w", ds.Name, day.Format(market.DateLayout), err)
	}
	if n == 0 {
		return 0, market.ErrNoData
	}
	if want := market.RowCount(rows); want >= 0 && int64(want) != n {
		return 0, fmt.Errorf("copying %s %s: the source returned %d rows but %d were copied", ds.Name, day.Format(market.DateLayout), want, n)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO coverage (dataset, day, rows, synced_at, batch_id, source) VALUES ($1, $2, $3, clock_timestamp(), $4, $5)
		ON CONFLICT (dataset, day) DO UPDATE SET rows = excluded.rows, synced_at = excluded.synced_at,
			batch_id = excluded.batch_id, source = excluded.source,
			verified_at = NULL, verified_ok = NULL, verify_note = NULL`, ds.Name, day, n, batchID, l.Source); err != nil {
		return 0, fmt.Errorf("recording coverage: %w", err)
	}
	return n, nil
}

// Progress counts a batch's finished days and all its days.
func Progress(ctx context.Context, db DB, batchID int64) (finished, total int, err error) {
	err = db.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE status NOT IN ('pending', 'running')), count(*)
		FROM batch_days WHERE batch_id = $1`, batchID).Scan(&finished, &total)
	return finished, total, err
}

// SetCancelling marks a batch cancelling on behalf of who.
func SetCancelling(ctx context.Context, db DB, batchID int64, who string) error {
	_, err := db.Exec(ctx, `UPDATE batches SET status = 'cancelling', cancelled_by = $2 WHERE id = $1`, batchID, who)
	return err
}

// Reopen moves a finished or paused batch back to work. A paused batch goes on running
// (queued if it never started); a finished one starts a new run, queued: it keeps its
// first start, and the time of its runs so far is added up in run_seconds.
func Reopen(ctx context.Context, db DB, batchID int64) error {
	_, err := db.Exec(ctx, `
		UPDATE batches SET
			status = CASE WHEN started_at IS NULL OR finished_at IS NOT NULL THEN 'queued' ELSE 'running' END,
			run_seconds = run_seconds + CASE WHEN finished_at IS NOT NULL AND run_started_at IS NOT NULL
				THEN extract(epoch FROM finished_at - run_started_at) ELSE 0 END,
			run_started_at = CASE WHEN finished_at IS NOT NULL THEN NULL ELSE run_started_at END,
			finished_at = NULL, message = '', cancelled_by = NULL
		WHERE id = $1`, batchID)
	return err
}

// QueueLockKey is the first key of the advisory locks on queues (the second is the
// queue name's hash): a process working a queue holds its lock in shared mode.
const QueueLockKey = 0x6d71 // "mq"

// QueuedBatch names a batch and the queue its days go to.
type QueuedBatch struct {
	TaskID, Queue string
}

// ForeignBatches returns the unfinished batches of queues other than queue.
func ForeignBatches(ctx context.Context, db DB, queue string) ([]QueuedBatch, error) {
	rows, err := db.Query(ctx, `
		SELECT task_id, queue FROM batches
		WHERE status = ANY($2) AND queue <> $1`, queue, market.ActiveStatuses())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[QueuedBatch])
}

// StuckCancelling returns queue's batches that are cancelling with no day running any
// more: nothing is left that would finish them.
func StuckCancelling(ctx context.Context, db DB, queue string) ([]string, error) {
	rows, err := db.Query(ctx, `
		SELECT task_id FROM batches b
		WHERE status = 'cancelling' AND queue = $1
		  AND NOT EXISTS (SELECT 1 FROM batch_days d WHERE d.batch_id = b.id AND d.status = 'running')`, queue)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// TryLockQueue takes queue's lock exclusively in tx if no process holds it.
func TryLockQueue(ctx context.Context, tx pgx.Tx, queue string) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1, hashtext($2))", QueueLockKey, queue).Scan(&ok)
	return ok, err
}

// MoveToQueue records that a batch's jobs now go to queue.
func MoveToQueue(ctx context.Context, db DB, batchID int64, queue string) error {
	_, err := db.Exec(ctx, "UPDATE batches SET queue = $2 WHERE id = $1", batchID, queue)
	return err
}

// CountStocks returns how many stocks the stock list holds.
func CountStocks(ctx context.Context, db DB) (int64, error) {
	var n int64
	err := db.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{market.StockBasic().Table}.Sanitize()).Scan(&n)
	return n, err
}

// ReplaceStocks replaces the whole stock list (stock_basic) with rows in one
// transaction, and returns how many rows it holds now. A list the source returned empty
// is refused: it would wipe the table.
func ReplaceStocks(ctx context.Context, db *pgxpool.Pool, rows market.Rows) (int64, error) {
	ds := market.StockBasic()
	var n int64
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{ds.Table}.Sanitize()); err != nil {
			return fmt.Errorf("clearing the stock list: %w", err)
		}
		var err error
		if n, err = tx.CopyFrom(ctx, pgx.Identifier{ds.Table}, ds.ColumnNames(), rows); err != nil {
			return fmt.Errorf("copying the stock list: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("%w: the stock list is empty", market.ErrNoData)
		}
		return nil
	})
	return n, err
}
