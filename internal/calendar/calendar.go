// Package calendar is the trading calendar of the Shanghai, Shenzhen and Beijing stock
// exchanges: which days they open, from the data embedded in the binary (weekdays minus
// the exchanges' weekday closures), grown with the days a source's calendar adds (the
// engine keeps it in PostgreSQL). A date outside what it knows is an error, never a
// guess.
package calendar

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

//go:embed sse-closures.txt
var closuresFile string

// Calendar answers which dates the exchanges trade, from First to Last. It is safe for
// concurrent use; Extend grows it.
type Calendar struct {
	mu          sync.RWMutex
	first, last time.Time
	closed      map[time.Time]bool // weekdays the exchanges did not open
	open        map[time.Time]bool // weekend days they did (none so far)
}

// New parses the embedded holiday data. The data covers whole years, from the first year
// listed through the last.
func New() (*Calendar, error) {
	return Parse(closuresFile)
}

// Parse builds a calendar from closure data: one ISO date a line, '#' comments, and
// optionally a line "first YYYY-MM-DD" naming the exchanges' first trading day. The
// calendar covers that day (else January 1 of the first year listed) through December 31
// of the last year listed.
func Parse(data string) (*Calendar, error) {
	c := &Calendar{closed: make(map[time.Time]bool), open: make(map[time.Time]bool)}
	var first time.Time
	sc := bufio.NewScanner(strings.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if v, ok := strings.CutPrefix(line, "first "); ok {
			d, err := time.Parse(market.DateLayout, strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("calendar data line %d: %w", n, err)
			}
			first = d
			continue
		}
		d, err := time.Parse(market.DateLayout, line)
		if err != nil {
			return nil, fmt.Errorf("calendar data line %d: %w", n, err)
		}
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return nil, fmt.Errorf("calendar data line %d: %s is a weekend", n, line)
		}
		c.closed[d] = true
		if c.first.IsZero() || d.Before(c.first) {
			c.first = d
		}
		if d.After(c.last) {
			c.last = d
		}
	}
	if len(c.closed) == 0 {
		return nil, fmt.Errorf("calendar data lists no closures")
	}
	c.first = time.Date(c.first.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	if !first.IsZero() {
		c.first = first
	}
	c.last = time.Date(c.last.Year(), 12, 31, 0, 0, 0, 0, time.UTC)
	return c, nil
}

// First is the first date the calendar has data for.
func (c *Calendar) First() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.first
}

// Last is the last date the calendar has data for.
func (c *Calendar) Last() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.last
}

// Check returns a market.CalendarError (ErrOutsideCalendar) when d is outside the data.
func (c *Calendar) Check(d time.Time) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.check(d)
}

func (c *Calendar) check(d time.Time) error {
	if d.Before(c.first) || d.After(c.last) {
		return &market.CalendarError{Date: d, First: c.first, Last: c.last}
	}
	return nil
}

// IsTradingDay reports whether the exchanges trade on d (a date at midnight UTC).
func (c *Calendar) IsTradingDay(d time.Time) (bool, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if err := c.check(d); err != nil {
		return false, err
	}
	return c.isOpen(d), nil
}

func (c *Calendar) isOpen(d time.Time) bool {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return c.open[d]
	}
	return !c.closed[d]
}

// TradingDays returns the trading days from start to end, both inclusive.
func (c *Calendar) TradingDays(start, end time.Time) ([]time.Time, error) {
	if err := c.CheckRange(start, end); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var days []time.Time
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		if c.isOpen(d) {
			days = append(days, d)
		}
	}
	return days, nil
}

// CheckRange validates a range: both ends inside the data and end not before start.
func (c *Calendar) CheckRange(start, end time.Time) error {
	if end.Before(start) {
		return fmt.Errorf("%w: end date %s is before start date %s", market.ErrInvalidRange,
			end.Format(market.DateLayout), start.Format(market.DateLayout))
	}
	if err := c.Check(start); err != nil {
		return err
	}
	return c.Check(end)
}

// Previous returns the last trading day strictly before d, or ErrOutsideCalendar.
func (c *Calendar) Previous(d time.Time) (time.Time, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.previous(d)
}

func (c *Calendar) previous(d time.Time) (time.Time, error) {
	for p := d.AddDate(0, 0, -1); !p.Before(c.first); p = p.AddDate(0, 0, -1) {
		if p.After(c.last) {
			continue
		}
		if c.isOpen(p) {
			return p, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: no trading day before %s", market.ErrOutsideCalendar, d.Format(market.DateLayout))
}

// LastTradingDay returns the last trading day on or before d, clamped to the data.
func (c *Calendar) LastTradingDay(d time.Time) (time.Time, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if d.After(c.last) {
		d = c.last
	}
	if c.check(d) == nil && c.isOpen(d) {
		return d, nil
	}
	return c.previous(d)
}

// Days lists every day the calendar knows, open or not, in order.
func (c *Calendar) Days() []market.CalendarDay {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []market.CalendarDay
	for d := c.first; !d.After(c.last); d = d.AddDate(0, 0, 1) {
		out = append(out, market.CalendarDay{Date: d, Open: c.isOpen(d)})
	}
	return out
}

// Extend adds days to the calendar, or corrects days it knows: days must follow each
// other without gaps and may start at most one day after Last (a gap would be a guess).
// It returns how many days the calendar grew by.
func (c *Calendar) Extend(days []market.CalendarDay) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	grown := 0
	for i, d := range days {
		day := d.Date.UTC().Truncate(24 * time.Hour)
		if i > 0 && !day.Equal(days[i-1].Date.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)) {
			return grown, fmt.Errorf("calendar: days from the source skip from %s to %s",
				days[i-1].Date.Format(market.DateLayout), day.Format(market.DateLayout))
		}
		if day.Before(c.first) {
			continue
		}
		if day.After(c.last.AddDate(0, 0, 1)) {
			return grown, fmt.Errorf("calendar: %s does not follow the last known day %s",
				day.Format(market.DateLayout), c.last.Format(market.DateLayout))
		}
		c.set(day, d.Open)
		if day.After(c.last) {
			c.last = day
			grown++
		}
	}
	return grown, nil
}

// set records whether the exchanges open on day.
func (c *Calendar) set(day time.Time, open bool) {
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		if open {
			c.open[day] = true
		} else {
			delete(c.open, day)
		}
		return
	}
	if open {
		delete(c.closed, day)
	} else {
		c.closed[day] = true
	}
}
