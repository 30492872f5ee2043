// Package calendar is the trading calendar of the Shanghai, Shenzhen and Beijing stock
// exchanges: weekdays minus the exchanges' weekday closures, from data embedded in the
// binary. A date outside that data is an error, never a guess.
package calendar

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

//go:embed sse-closures.txt
var closuresFile string

// Calendar answers which dates the exchanges trade. It is immutable and safe for
// concurrent use.
type Calendar struct {
	first, last time.Time
	closed      map[time.Time]bool
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
	c := &Calendar{closed: make(map[time.Time]bool)}
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

// First and Last are the first and last dates the calendar has data for.
func (c *Calendar) First() time.Time { return c.first }

// Last is the last date the calendar has data for.
func (c *Calendar) Last() time.Time { return c.last }

// Check returns ErrOutsideCalendar when d is outside the data.
func (c *Calendar) Check(d time.Time) error {
	if d.Before(c.first) || d.After(c.last) {
		return &market.CalendarError{Date: d, First: c.first, Last: c.last}
	}
	return nil
}

// IsTradingDay reports whether the exchanges trade on d (a date at midnight UTC).
func (c *Calendar) IsTradingDay(d time.Time) (bool, error) {
	if err := c.Check(d); err != nil {
		return false, err
	}
	return c.isOpen(d), nil
}

func (c *Calendar) isOpen(d time.Time) bool {
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !c.closed[d]
}

// TradingDays returns the trading days from start to end, both inclusive.
func (c *Calendar) TradingDays(start, end time.Time) ([]time.Time, error) {
	if err := c.CheckRange(start, end); err != nil {
		return nil, err
	}
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
	if d.After(c.last) {
		d = c.last
	}
	if c.Check(d) == nil && c.isOpen(d) {
		return d, nil
	}
	return c.Previous(d)
}
