package market

import (
	"fmt"
	"strings"
	"time"
)

// DaysError is an input error about some days of a batch: which days, and why (Err is
// ErrNotTradingDay or ErrNotPublished). Pages word it in the viewer's language from its
// fields; Error is the API's English.
type DaysError struct {
	Err  error
	Days []time.Time
	// PublishedAt is, for ErrNotPublished, the time of day ("17:00", China time) at which
	// the source publishes a trading day's data, and Latest the latest day ready now
	// (zero when none is).
	PublishedAt string
	Latest      time.Time
}

func (e *DaysError) Error() string {
	switch e.Err {
	case ErrNotTradingDay:
		return fmt.Sprintf("%v: %s: the exchanges are closed then, so there is nothing to load", e.Err, e.DayList())
	case ErrNotPublished:
		latest := "none yet"
		if !e.Latest.IsZero() {
			latest = e.Latest.Format(DateLayout)
		}
		return fmt.Sprintf("%v: %s: the source publishes a trading day's data at %s China time that day; the latest day ready now is %s",
			e.Err, e.DayList(), e.PublishedAt, latest)
	}
	return fmt.Sprintf("%v: %s", e.Err, e.DayList())
}

func (e *DaysError) Unwrap() error { return e.Err }

// DayList lists up to five of the days, then how many more: "2025-10-04, 2025-10-05 (+3)".
func (e *DaysError) DayList() string {
	const most = 5
	var parts []string
	for _, d := range e.Days[:min(len(e.Days), most)] {
		parts = append(parts, d.Format(DateLayout))
	}
	s := strings.Join(parts, ", ")
	if n := len(e.Days) - most; n > 0 {
		s += fmt.Sprintf(" (+%d)", n)
	}
	return s
}

// SizeError is a batch over the size cap: it covers Days calendar days, at most Max are
// allowed.
type SizeError struct {
	Days, Max int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%v: the batch covers %d days; a batch may cover at most %d (about %d years), so split it",
		ErrTooLarge, e.Days, e.Max, (e.Max+182)/365)
}

func (e *SizeError) Unwrap() error { return ErrTooLarge }

// CalendarError is a date outside the trading calendar the engine knows, First to Last.
type CalendarError struct {
	Date, First, Last time.Time
}

func (e *CalendarError) Error() string {
	return fmt.Sprintf("%v: %s (the calendar covers %s to %s)", ErrOutsideCalendar,
		e.Date.Format(DateLayout), e.First.Format(DateLayout), e.Last.Format(DateLayout))
}

func (e *CalendarError) Unwrap() error { return ErrOutsideCalendar }
