package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketsync/marketsync/internal/market"
)

// CalendarDays returns the days of the trade calendar after after (all of them when it
// is zero), in order.
func CalendarDays(ctx context.Context, db DB, after time.Time) ([]market.CalendarDay, error) {
	rows, err := db.Query(ctx, `SELECT day, open FROM trade_calendar WHERE day > $1 ORDER BY day`, after)
	if err != nil {
		return nil, fmt.Errorf("reading the trade calendar: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (market.CalendarDay, error) {
		var d market.CalendarDay
		err := r.Scan(&d.Date, &d.Open)
		return d, err
	})
}

// SaveCalendar records days in the trade calendar as source says them, replacing what
// it held for those days.
func SaveCalendar(ctx context.Context, db DB, days []market.CalendarDay, source string) error {
	if len(days) == 0 {
		return nil
	}
	dates := make([]time.Time, len(days))
	open := make([]bool, len(days))
	for i, d := range days {
		dates[i], open[i] = d.Date, d.Open
	}
	_, err := db.Exec(ctx, `
		INSERT INTO trade_calendar (day, open, source, updated_at)
		SELECT d, o, $3, clock_timestamp() FROM unnest($1::date[], $2::boolean[]) AS t(d, o)
		ON CONFLICT (day) DO UPDATE SET open = excluded.open, source = excluded.source, updated_at = excluded.updated_at
		WHERE trade_calendar.open IS DISTINCT FROM excluded.open`, dates, open, source)
	if err != nil {
		return fmt.Errorf("saving the trade calendar: %w", err)
	}
	return nil
}

// FirstCalendarDayFrom returns the first day of the trade calendar that source said.
func FirstCalendarDayFrom(ctx context.Context, db DB, source string) (time.Time, bool, error) {
	var d *time.Time
	if err := db.QueryRow(ctx, `SELECT min(day) FROM trade_calendar WHERE source = $1`, source).Scan(&d); err != nil {
		return time.Time{}, false, fmt.Errorf("reading the trade calendar: %w", err)
	}
	if d == nil {
		return time.Time{}, false, nil
	}
	return *d, true, nil
}
