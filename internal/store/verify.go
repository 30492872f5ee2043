package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketsync/marketsync/internal/market"
)

// DayDigest fingerprints the rows of ds the warehouse holds for day.
func DayDigest(ctx context.Context, db DB, ds market.Dataset, day time.Time) (market.Digest, error) {
	var d market.Digest
	cols := ""
	for i, c := range ds.ColumnNames() {
		if i > 0 {
			cols += ", "
		}
		cols += pgx.Identifier{c}.Sanitize()
	}
	rows, err := db.Query(ctx, "SELECT "+cols+" FROM "+pgx.Identifier{ds.Table}.Sanitize()+
		" WHERE "+pgx.Identifier{ds.DateColumn}.Sanitize()+" = $1", day)
	if err != nil {
		return d, fmt.Errorf("reading %s %s: %w", ds.Name, day.Format(market.DateLayout), err)
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return d, err
		}
		d.Add(vals)
	}
	return d, rows.Err()
}

// LoadedDays returns the days of dataset between start and end that coverage holds.
func LoadedDays(ctx context.Context, db DB, dataset string, start, end time.Time) ([]time.Time, error) {
	rows, err := db.Query(ctx, `SELECT day FROM coverage WHERE dataset = $1 AND day BETWEEN $2 AND $3 ORDER BY day`,
		dataset, start, end)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[time.Time])
}

// RecordVerdict records in coverage what verifying a loaded day found.
func RecordVerdict(ctx context.Context, db DB, v market.Verdict, day time.Time) error {
	_, err := db.Exec(ctx, `
		UPDATE coverage SET verified_at = clock_timestamp(), verified_ok = $3, verify_note = nullif($4, '')
		WHERE dataset = $1 AND day = $2`, v.Dataset, day, v.OK, v.Note)
	return err
}
