package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// CalendarSource is a source that knows the exchanges' calendar.
type CalendarSource interface {
	TradeCalendar(ctx context.Context, start, end time.Time) ([]market.CalendarDay, error)
}

// syntheticSource is the source whose calendar past the embedded data is made up.
const syntheticSource = "demo"

// calendarAhead is how far past today the calendar is kept known when a source can say.
const calendarAhead = 400 * 24 * time.Hour

// LoadCalendar brings the engine's calendar in step with PostgreSQL's trade calendar: the
// table is seeded from the calendar when it is empty; otherwise the calendar takes the
// days the table knows beyond its own (another process refreshed them).
func (e *Engine) LoadCalendar(ctx context.Context) error {
	days, err := store.CalendarDays(ctx, e.pool, e.cal.First().AddDate(0, 0, -1))
	if err != nil {
		return err
	}
	if len(days) == 0 {
		return store.SaveCalendar(ctx, e.pool, e.cal.Days(), "embedded")
	}
	last := e.cal.Last()
	var newer []market.CalendarDay
	for _, d := range days {
		if d.Date.After(last) {
			newer = append(newer, d)
		}
	}
	_, err = e.cal.Extend(newer)
	return err
}

// RefreshCalendar makes the calendar known through until when it is not yet: it reads
// what other processes stored, then asks the default source's trade calendar for the
// days after the last known one, stores them and grows the calendar. It returns how many
// days the calendar grew by. A source without a calendar adds nothing.
func (e *Engine) RefreshCalendar(ctx context.Context, until time.Time) (int, error) {
	before := e.cal.Last()
	if err := e.LoadCalendar(ctx); err != nil {
		return 0, err
	}
	last := e.cal.Last()
	grown := int(last.Sub(before).Hours() / 24)
	src, ok := e.src.(CalendarSource)
	if !ok {
		return grown, nil
	}
	from := last.AddDate(0, 0, 1)
	if name := sourceName(e.src); name != syntheticSource {
		// Days a synthetic calendar made up are asked again of a real source.
		if d, ok, err := store.FirstCalendarDayFrom(ctx, e.pool, syntheticSource); err != nil {
			return grown, err
		} else if ok && d.Before(from) {
			from = d
		}
	}
	if !until.After(from.AddDate(0, 0, -1)) {
		return grown, nil
	}
	days, err := src.TradeCalendar(ctx, from, until)
	if err != nil {
		return grown, fmt.Errorf("reading the source's trade calendar: %w", err)
	}
	if err := store.SaveCalendar(ctx, e.pool, days, sourceName(e.src)); err != nil {
		return grown, err
	}
	n, err := e.cal.Extend(days)
	if n > 0 {
		e.log.Info("trade calendar grown", "days", n, "through", dateString(e.cal.Last()), "source", sourceName(e.src))
	}
	return grown + n, err
}

// refreshCalendarDaily keeps the calendar known some 400 days ahead: at start, then once
// a day, until ctx ends.
func (e *Engine) refreshCalendarDaily(ctx context.Context) {
	for {
		refresh, cancel := context.WithTimeout(ctx, time.Minute)
		if _, err := e.RefreshCalendar(refresh, market.Today(e.cfg.Now()).Add(calendarAhead)); err != nil && ctx.Err() == nil {
			e.log.Warn("refreshing the trade calendar", "err", err, "known_through", dateString(e.cal.Last()))
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-time.After(24 * time.Hour):
		}
	}
}

// sourceName is the name a source gives itself.
func sourceName(src Source) string { return src.Name() }
