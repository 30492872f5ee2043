// Package market is marketsync's leaf domain: the datasets it loads, batches of trading
// days and their states, the progress snapshot every view is drawn from, and the domain
// errors. It imports nothing of ours.
package market

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai wherever the system has no zone database
)

// DateLayout is the ISO form in which trading dates are read and written.
const DateLayout = "2006-01-02"

// ExchangeZone is the exchanges' clock, Asia/Shanghai (China Standard Time, UTC+8, no
// daylight saving): trading dates, publication times and schedules are in it, and pages
// show times in it unless told otherwise. It is the one zone of that name in marketsync.
var ExchangeZone = shanghai()

// shanghai loads Asia/Shanghai (the binary embeds the zone database), or its fixed
// offset where no zone database is at hand.
func shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}

// Today is the date in exchange time at instant now, at midnight UTC like every trading
// date.
func Today(now time.Time) time.Time {
	y, m, d := now.In(ExchangeZone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// PublishedAt is when a source publishes the data of a trading day that it publishes at
// hh:mm exchange time that day.
func PublishedAt(day time.Time, hh, mm int) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, hh, mm, 0, 0, ExchangeZone)
}

// ParseDate parses an ISO date (2025-10-01) into midnight UTC; trading dates are plain
// calendar dates in exchange time and carry no zone of their own.
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q is not a date in the form YYYY-MM-DD", ErrInvalidDate, s)
	}
	return d, nil
}

// Domain errors. Handlers and the CLI map them to status codes and exit codes in one place.
var (
	// ErrInvalidDate reports a date that does not parse.
	ErrInvalidDate = errors.New("invalid date")
	// ErrInvalidRange reports an end date before the start date.
	ErrInvalidRange = errors.New("invalid range")
	// ErrOutsideCalendar reports a date the trading calendar has no data for.
	ErrOutsideCalendar = errors.New("outside the trading calendar")
	// ErrNotTradingDay reports a chosen day on which the exchanges do not trade.
	ErrNotTradingDay = errors.New("not a trading day")
	// ErrNotPublished reports a trading day whose data the source has not published yet:
	// a future day, or today before the source's publication time.
	ErrNotPublished = errors.New("not published yet")
	// ErrTooLarge reports a batch over the configured size cap.
	ErrTooLarge = errors.New("batch too large")
	// ErrUnknownDataset reports a dataset name marketsync does not know.
	ErrUnknownDataset = errors.New("unknown dataset")
	// ErrInvalidInput reports any other malformed request (a priority out of range, …).
	ErrInvalidInput = errors.New("invalid input")
	// ErrNotFound reports an unknown task id.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports an action the batch's state does not allow (cancelling a
	// finished batch, resuming one that is not paused).
	ErrConflict = errors.New("conflict")
	// ErrNoData reports a trading day for which the source returned no rows: it is not
	// marked loaded, so today's data is never recorded before the source publishes it.
	ErrNoData = errors.New("the source returned no rows")
	// ErrSourceRefused reports a permanent source failure (bad credentials, no permission):
	// retrying cannot help, so the batch itself fails.
	ErrSourceRefused = errors.New("the source refused the request")
	// ErrDatasetRefused reports that the source refuses one dataset (the account lacks
	// the permission or the points for it): every day of that dataset fails at once,
	// without retries, while the batch's other datasets go on.
	ErrDatasetRefused = errors.New("the source refused the dataset")
	// ErrQuotaExhausted reports that the account used up an hourly or daily call quota
	// of the source: the day fails at once, without retries (retrying within the hour
	// only burns more of the quota); it can be retried later.
	ErrQuotaExhausted = errors.New("the source's call quota is used up")
)

// Reason is what a person reads of an error: its message without a leading sentinel's
// name ("invalid input: ", "conflict: ", "not found: ").
func Reason(err error) string {
	msg := err.Error()
	for _, e := range []error{ErrInvalidInput, ErrConflict, ErrNotFound} {
		msg = strings.TrimPrefix(msg, e.Error()+": ")
	}
	return msg
}

// IsInputError reports whether err is the caller's fault (a 4xx, CLI exit 2).
func IsInputError(err error) bool {
	for _, e := range []error{ErrInvalidDate, ErrInvalidRange, ErrOutsideCalendar, ErrNotTradingDay,
		ErrNotPublished, ErrTooLarge, ErrUnknownDataset, ErrInvalidInput} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
