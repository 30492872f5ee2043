package market

import (
	"fmt"
	"strings"
	"time"
)

// A schedule fires once on each trading day at a time of day (exchange time) for one
// dataset and source: it starts one batch of every trading day since the last loaded
// one, so a server that was down catches up by itself. These are its rules; the engine
// fires it and the store keeps it.

// TimeOfDay is a time of day in exchange time, to the minute.
type TimeOfDay struct {
	Hour, Minute int
}

// DefaultScheduleTime is when a schedule fires unless told otherwise: 17:30 China time,
// half an hour after the day's daily data is out.
var DefaultScheduleTime = TimeOfDay{Hour: 17, Minute: 30}

// ParseTimeOfDay reads "HH:MM" (24-hour, e.g. 17:30), or ErrInvalidInput.
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil || len(strings.TrimSpace(s)) != 5 {
		return TimeOfDay{}, fmt.Errorf("%w: time %q is not HH:MM (24-hour, e.g. 17:30)", ErrInvalidInput, s)
	}
	return TimeOfDay{Hour: t.Hour(), Minute: t.Minute()}, nil
}

// String writes the time as HH:MM.
func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", t.Hour, t.Minute) }

// On is the instant of t on day (a trading date), in exchange time.
func (t TimeOfDay) On(day time.Time) time.Time { return PublishedAt(day, t.Hour, t.Minute) }

// ScheduleOutcome is what a schedule's firing did.
type ScheduleOutcome string

// Schedule outcomes.
const (
	// ScheduleStarted: it started a batch of the days missing.
	ScheduleStarted ScheduleOutcome = "started"
	// ScheduleNothingToDo: every published trading day was loaded already.
	ScheduleNothingToDo ScheduleOutcome = "nothing_to_do"
	// ScheduleSkipped: the batch it started last was still running, so it started none;
	// the next firing catches up the days missed.
	ScheduleSkipped ScheduleOutcome = "skipped"
	// ScheduleFailed: the batch could not start (the message says why).
	ScheduleFailed ScheduleOutcome = "failed"
)

// Schedule is one daily schedule as pages show it.
type Schedule struct {
	ID      int64
	Dataset string
	Source  string
	At      TimeOfDay
	Enabled bool
	// NextRun is when it fires next (nil: disabled, or past the known calendar); a time
	// already passed means at the next check, within a minute.
	NextRun *time.Time
	// LastDay is the trading day of its last firing, LastFiredAt when it fired (nil:
	// never fired since it was created).
	LastDay     *time.Time
	LastFiredAt *time.Time
	LastOutcome ScheduleOutcome
	LastMessage string
	// LastTaskID is the batch it started last, and LastBatchStatus that batch's state
	// now ("" when there is none).
	LastTaskID      string
	LastBatchStatus BatchStatus
	UpdatedAt       time.Time
	UpdatedBy       string
}

// ScheduleInput adds or changes the schedule of (Dataset, Source) from the settings
// page.
type ScheduleInput struct {
	Dataset string
	Source  string
	At      TimeOfDay
	Enabled bool
}

// ScheduleRun is one firing of a schedule, or the end of the batch it started, as a
// ScheduleObserver hears it.
type ScheduleRun struct {
	ScheduleID int64
	Dataset    string
	Source     string
	// Day is the trading day the firing was due on.
	Day     time.Time
	Outcome ScheduleOutcome
	Message string
	// TaskID is the batch started (or, skipped, the one still running).
	TaskID string
	// BatchStatus and FailedDays say how the batch ended (ScheduleEnded only).
	BatchStatus BatchStatus
	FailedDays  int
}

// TradingCalendar is what the schedule rules ask of the trading calendar.
type TradingCalendar interface {
	IsTradingDay(d time.Time) (bool, error)
}

// scheduleLookaround bounds how far the rules look for a trading day: the longest
// closure of the exchanges (Spring Festival) is under two weeks.
const scheduleLookaround = 31

// DueDay is the latest trading day, up to today, whose time at has passed by now: the
// firing a schedule owes. False when the calendar knows none near.
func DueDay(now time.Time, at TimeOfDay, cal TradingCalendar) (time.Time, bool) {
	d := Today(now)
	for i := 0; i < scheduleLookaround; i, d = i+1, d.AddDate(0, 0, -1) {
		if open, err := cal.IsTradingDay(d); err == nil && open && !at.On(d).After(now) {
			return d, true
		}
	}
	return time.Time{}, false
}

// NextRun is when a schedule that last fired for trading day last (nil: never) fires
// next: now when a firing is owed (it fires at the next check), else at on the next
// trading day after today's firing. False when the calendar knows no such day.
func NextRun(now time.Time, at TimeOfDay, last *time.Time, cal TradingCalendar) (time.Time, bool) {
	if due, ok := DueDay(now, at, cal); ok && (last == nil || last.Before(due)) {
		return now, true
	}
	d := Today(now)
	for i := 0; i < scheduleLookaround; i, d = i+1, d.AddDate(0, 0, 1) {
		if open, err := cal.IsTradingDay(d); err == nil && open && at.On(d).After(now) {
			return at.On(d), true
		}
	}
	return time.Time{}, false
}

// ScheduleSeed is one schedule asked for by the environment (MARKETSYNC_SCHEDULE).
type ScheduleSeed struct {
	Dataset string
	// Source is "" for the default source.
	Source string
	At     TimeOfDay
}

// ParseScheduleSeeds reads MARKETSYNC_SCHEDULE: comma-separated DATASET[/SOURCE]@HH:MM
// ("daily@17:30,adj_factor/tushare@18:00"); "off" disables schedules in this process
// (off is true); empty is the default, daily at 17:30 on the default source. Mistakes are
// ErrInvalidInput or ErrUnknownDataset, naming the entry at fault.
func ParseScheduleSeeds(s string) (seeds []ScheduleSeed, off bool, err error) {
	s = strings.TrimSpace(s)
	switch s {
	case "off":
		return nil, true, nil
	case "":
		return []ScheduleSeed{{Dataset: daily.Name, At: DefaultScheduleTime}}, false, nil
	}
	seen := map[string]bool{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		what, at, ok := strings.Cut(entry, "@")
		if !ok {
			return nil, false, fmt.Errorf("%w: schedule %q: want DATASET[/SOURCE]@HH:MM, e.g. daily@17:30", ErrInvalidInput, entry)
		}
		ds, src, _ := strings.Cut(what, "/")
		if _, err := LookupDataset(ds); err != nil {
			return nil, false, fmt.Errorf("schedule %q: %w", entry, err)
		}
		t, err := ParseTimeOfDay(at)
		if err != nil {
			return nil, false, fmt.Errorf("schedule %q: %w", entry, err)
		}
		if seen[ds+"/"+src] {
			return nil, false, fmt.Errorf("%w: schedule %q: %s is scheduled twice", ErrInvalidInput, entry, what)
		}
		seen[ds+"/"+src] = true
		seeds = append(seeds, ScheduleSeed{Dataset: ds, Source: src, At: t})
	}
	return seeds, false, nil
}
