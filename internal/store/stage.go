package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketsync/marketsync/internal/market"
)

// StageRun is a batch's fetch from a range source into staging (stage_runs).
type StageRun struct {
	BatchID    int64
	Start, End time.Time
	Datasets   []string
	// Total is how many stocks are to be fetched; Fetched how many are in staging.
	Total, Fetched int
	StartedAt      time.Time
	// ReadyAt is when the last stock was fetched: the days load from staging from then.
	ReadyAt *time.Time
}

// Ready reports whether every stock of the run is in staging.
func (r *StageRun) Ready() bool { return r != nil && r.ReadyAt != nil }

// stageTable is the staging table of a dataset.
func stageTable(ds market.Dataset) string { return "stage_" + ds.Table }

// GetStage returns the batch's staging run, or nil when it has none (never fetched, or
// emptied: the batch ended, or PostgreSQL crashed).
func GetStage(ctx context.Context, db DB, batchID int64) (*StageRun, error) {
	r := &StageRun{BatchID: batchID}
	err := db.QueryRow(ctx, `
		SELECT range_start, range_end, datasets, total, fetched, started_at, ready_at
		FROM stage_runs WHERE batch_id = $1`, batchID).
		Scan(&r.Start, &r.End, &r.Datasets, &r.Total, &r.Fetched, &r.StartedAt, &r.ReadyAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the staging of batch %d: %w", batchID, err)
	}
	return r, nil
}

// CreateStage starts r's staging with the stocks to fetch.
func CreateStage(ctx context.Context, tx pgx.Tx, r *StageRun, stocks []market.Listing) error {
	if _, err := tx.Exec(ctx, `
		INSERT INTO stage_runs (batch_id, range_start, range_end, datasets, total) VALUES ($1, $2, $3, $4, $5)`,
		r.BatchID, r.Start, r.End, r.Datasets, len(stocks)); err != nil {
		return fmt.Errorf("starting the staging of batch %d: %w", r.BatchID, err)
	}
	rows := make([][]any, len(stocks))
	for i, s := range stocks {
		rows[i] = []any{r.BatchID, s.TSCode, nullDate(s.ListDate), nullDate(s.DelistDate)}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_stocks"}, []string{"batch_id", "ts_code", "list_date", "delist_date"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("listing the stocks to stage: %w", err)
	}
	r.Total = len(stocks)
	return nil
}

func nullDate(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// StocksToFetch lists the batch's stocks not in staging yet, in code order.
func StocksToFetch(ctx context.Context, db DB, batchID int64) ([]market.Listing, error) {
	rows, err := db.Query(ctx, `
		SELECT ts_code, list_date, delist_date
		FROM stage_stocks WHERE batch_id = $1 AND NOT fetched ORDER BY ts_code`, batchID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (market.Listing, error) {
		var l market.Listing
		var list, delist *time.Time
		err := row.Scan(&l.TSCode, &list, &delist)
		l.ListDate, l.DelistDate = deref(list), deref(delist)
		return l, err
	})
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// StagedStock is one stock's rows, by dataset name, in each dataset's column order.
type StagedStock struct {
	Code string
	Rows map[string][][]any
}

// StageStocks puts fetched stocks into staging and counts them fetched, in tx: one COPY
// per dataset. A stock staged already (by another run of the fetch) is skipped; a
// dataset a stock has no rows of (suspended over the whole range) is fine. It returns
// how many stocks it staged.
func StageStocks(ctx context.Context, tx pgx.Tx, batchID int64, stocks []StagedStock) (int, error) {
	codes := make([]string, len(stocks))
	for i, s := range stocks {
		codes[i] = s.Code
	}
	rows, err := tx.Query(ctx, `UPDATE stage_stocks SET fetched = true
		WHERE batch_id = $1 AND ts_code = ANY($2) AND NOT fetched RETURNING ts_code`, batchID, codes)
	if err != nil {
		return 0, err
	}
	marked, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("marking stocks staged: %w", err)
	}
	take := make(map[string]bool, len(marked))
	for _, c := range marked {
		take[c] = true
	}
	for _, ds := range market.Datasets() {
		var all [][]any
		for _, s := range stocks {
			if !take[s.Code] {
				continue
			}
			for _, r := range s.Rows[ds.Name] {
				all = append(all, append([]any{batchID}, r...))
			}
		}
		if len(all) == 0 {
			continue
		}
		cols := append([]string{"batch_id"}, ds.ColumnNames()...)
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{stageTable(ds)}, cols, pgx.CopyFromRows(all)); err != nil {
			return 0, fmt.Errorf("staging %s: %w", ds.Name, err)
		}
	}
	_, err = tx.Exec(ctx, `UPDATE stage_runs SET fetched = fetched + $2 WHERE batch_id = $1`, batchID, len(marked))
	return len(marked), err
}

// MarkStageReady records that every stock of the batch is in staging.
func MarkStageReady(ctx context.Context, db DB, batchID int64) error {
	_, err := db.Exec(ctx, `UPDATE stage_runs SET ready_at = clock_timestamp() WHERE batch_id = $1`, batchID)
	return err
}

// StagedDay reads one day of a dataset back from the batch's staging, in code order.
func StagedDay(ctx context.Context, db DB, batchID int64, ds market.Dataset, day time.Time) (*market.RowSlice, error) {
	rows, err := db.Query(ctx, "SELECT "+quotedColumns(ds)+" FROM "+pgx.Identifier{stageTable(ds)}.Sanitize()+
		" WHERE batch_id = $1 AND "+pgx.Identifier{ds.DateColumn}.Sanitize()+" = $2 ORDER BY ts_code", batchID, day)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) ([]any, error) { return row.Values() })
	if err != nil {
		return nil, fmt.Errorf("reading %s %s from staging: %w", ds.Name, day.Format(market.DateLayout), err)
	}
	return market.NewRowSlice(out), nil
}

func quotedColumns(ds market.Dataset) string {
	s := ""
	for i, c := range ds.ColumnNames() {
		if i > 0 {
			s += ", "
		}
		s += pgx.Identifier{c}.Sanitize()
	}
	return s
}

// DropEndedStages empties the staging of batches that ended (completed, failed or
// cancelled), and returns how many it emptied.
func DropEndedStages(ctx context.Context, db DB) (int, error) {
	q := `WITH ended AS (
		DELETE FROM stage_runs s USING batches b
		WHERE b.id = s.batch_id AND b.status IN ('completed', 'failed', 'cancelled')
		RETURNING s.batch_id
	), stocks AS (
		DELETE FROM stage_stocks WHERE batch_id IN (SELECT batch_id FROM ended)
	)`
	for _, ds := range market.Datasets() {
		q += ", " + pgx.Identifier{"drop_" + ds.Name}.Sanitize() + " AS (DELETE FROM " +
			pgx.Identifier{stageTable(ds)}.Sanitize() + " WHERE batch_id IN (SELECT batch_id FROM ended))"
	}
	var n int
	err := db.QueryRow(ctx, q+" SELECT count(*) FROM ended").Scan(&n)
	return n, err
}

// BatchStatus reads a batch's status.
func BatchStatus(ctx context.Context, db DB, batchID int64) (market.BatchStatus, error) {
	var st market.BatchStatus
	err := db.QueryRow(ctx, "SELECT status FROM batches WHERE id = $1", batchID).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, market.ErrNotFound
	}
	return st, err
}

// PendingSpan returns the first and last of the batch's pending trading days; ok is
// false when it has none.
func PendingSpan(ctx context.Context, db DB, batchID int64) (first, last time.Time, ok bool, err error) {
	var f, l *time.Time
	err = db.QueryRow(ctx, `SELECT min(day), max(day) FROM batch_days WHERE batch_id = $1 AND status = 'pending' AND trading`,
		batchID).Scan(&f, &l)
	if err != nil || f == nil {
		return time.Time{}, time.Time{}, false, err
	}
	return *f, *l, true, nil
}

// ClaimStage marks a queued or running batch running for its fetch into staging, and
// notifies channel; claimed is false when the batch is paused, stopping or ended.
func ClaimStage(ctx context.Context, db DB, batchID int64, channel string) (*Batch, bool, error) {
	b, err := scanBatch(extraColumn{db.QueryRow(ctx, `
		WITH b AS (
			UPDATE batches SET version = version + 1, status = 'running',
				started_at = coalesce(started_at, clock_timestamp()),
				run_started_at = coalesce(run_started_at, clock_timestamp())
			WHERE id = $1 AND status IN ('queued', 'running')
			RETURNING `+batchColumns+`
		)
		SELECT `+prefixed("b")+`, pg_notify($2, b.task_id) IS NULL FROM b`, batchID, channel)})
	if errors.Is(err, market.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("starting the fetch of batch %d: %w", batchID, err)
	}
	return b, true, nil
}
