// Package demo is a deterministic synthetic A-share market, the default source of
// marketsync. It lists some 5,400 stocks on the Shanghai, Shenzhen and Beijing exchanges
// with listings, delistings, suspensions and ST periods, and produces Tushare-shaped daily
// bars on a 0.01 tick within each board's price limit.
//
// The same (seed, code, date) always gives the same row, on every run and machine: prices
// are computed in integer cents from a stable hash, never from shared random state. A day
// is computed from the closes cached at the end of the previous month, so any day costs at
// most a month of steps per stock once that month's checkpoint exists.
//
// Config.Latency and Config.FailRate make it behave like a real upstream: slow to answer,
// and failing now and then with transient errors, sometimes in the middle of a stream.
package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/market"
)

// Config tunes how the demo market behaves as an upstream. The zero value answers at once,
// never fails, and uses seed 0.
type Config struct {
	// Latency is how long each Fetch waits before its first row, like a remote API.
	Latency time.Duration
	// FailRate is the share (0 to 1) of fetches that fail with a transient error. Most
	// fail before the first row; about one in ten fails in the middle of the stream.
	FailRate float64
	// Seed selects the market: two sources with the same seed give identical rows.
	Seed uint64
	// Now is the clock (default time.Now). Like Tushare, the demo publishes a trading
	// day's rows at 17:00 exchange time that day; before then the day has no rows.
	Now func() time.Time
}

// publishedAt is when a day's data appears upstream: 17:00 in Shanghai (UTC+8).
func publishedAt(day time.Time) time.Time {
	return market.PublishedAt(day, 17, 0)
}

// PublishedAt is when the demo publishes a trading day's data of any dataset: 17:00
// exchange time that day, as Tushare's daily data is out by then.
func (s *Source) PublishedAt(_ market.Dataset, day time.Time) time.Time {
	return publishedAt(day)
}

// Environment variables read by ConfigFromEnv.
const (
	EnvLatency  = "MARKETSYNC_DEMO_LATENCY"
	EnvFailRate = "MARKETSYNC_DEMO_FAIL_RATE"
)

// ConfigFromEnv reads MARKETSYNC_DEMO_LATENCY (a Go duration such as 200ms) and
// MARKETSYNC_DEMO_FAIL_RATE (a number from 0 to 1) through getenv; unset means zero.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var cfg Config
	if v := getenv(EnvLatency); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Config{}, fmt.Errorf("%s=%q: want a non-negative duration such as 200ms or 1s", EnvLatency, v)
		}
		cfg.Latency = d
	}
	if v := getenv(EnvFailRate); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1) { // also rejects NaN
			return Config{}, fmt.Errorf("%s=%q: want a number from 0 to 1, such as 0.05", EnvFailRate, v)
		}
		cfg.FailRate = f
	}
	return cfg, nil
}

// ErrTransient is matched (errors.Is) by every failure injected through Config.FailRate.
// Like a network hiccup, it is worth retrying: a later fetch of the same day may succeed.
var ErrTransient = errors.New("transient upstream failure")

// transientError reads like a real network or gateway failure and matches ErrTransient.
type transientError struct{ msg string }

func (e *transientError) Error() string        { return e.msg }
func (e *transientError) Is(target error) bool { return target == ErrTransient }

// Failures before the first row, and in the middle of a stream.
var (
	upfrontFailures = [...]string{
		"connection timeout",
		"dial tcp 10.20.3.17:443: connect: connection refused",
		"connection reset by peer",
		"upstream returned HTTP 502 Bad Gateway",
		"upstream returned HTTP 503 Service Unavailable",
		"upstream returned HTTP 504 Gateway Timeout",
		"upstream rate limit: HTTP 429 Too Many Requests",
		"read tcp 10.20.3.5:51734->10.20.3.17:443: i/o timeout",
	}
	streamFailures = [...]string{
		"connection reset by peer",
		"unexpected EOF",
		"read tcp 10.20.3.5:51734->10.20.3.17:443: i/o timeout",
		"http2: stream closed by upstream (INTERNAL_ERROR)",
	}
)

// Source is the demo market. It is safe for concurrent use; build it with New.
type Source struct {
	cfg   Config
	cal   *calendar.Calendar
	gen   *generator
	calls atomic.Uint64 // fetches so far, mixed into the failure draw
}

// New builds the demo market over the trading days of cal. Listing the stocks is quick;
// prices are computed lazily, month by month, as days are fetched.
func New(cal *calendar.Calendar, cfg Config) *Source {
	return &Source{cfg: cfg, cal: cal, gen: newGenerator(cal, cfg.Seed)}
}

// Stocks returns every stock the market ever lists (delisted ones included), in code
// order. Names are as of each stock's last day in the calendar, with the "ST" or "*ST"
// prefix it carries then.
func (s *Source) Stocks() []Stock {
	out := make([]Stock, len(s.gen.stocks))
	for i := range s.gen.stocks {
		out[i] = s.gen.stocks[i].info
	}
	return out
}

// Datasets returns the names of the datasets Fetch produces.
func (s *Source) Datasets() []string { return []string{"daily", "adj_factor", "daily_basic"} }

// Name is the source's name, recorded with every day it loads.
func (s *Source) Name() string { return "demo" }

// Fetch returns the rows of dataset ds for the trading day day (its calendar date is
// used, whatever its zone), streamed as Next is called. daily has one row per stock that
// trades (suspended stocks have none), adj_factor one per listed stock, daily_basic one
// per stock that trades, its close the daily close. It waits Config.Latency first and
// returns ctx.Err() if ctx ends meanwhile. A date the calendar does not cover is an error
// wrapping market.ErrOutsideCalendar; a non-trading day has no rows; a dataset the demo
// does not produce is an error wrapping market.ErrUnknownDataset. The rows' Values slice
// is reused from row to row. The first fetch past the cached months computes their
// checkpoints first (about 0.2 s for the whole calendar, once per Source).
func (s *Source) Fetch(ctx context.Context, ds market.Dataset, day time.Time) (market.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	y, m, d := day.Date()
	day = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if err := s.cal.Check(day); err != nil {
		return nil, fmt.Errorf("demo source: %s %s: %w", ds.Name, day.Format(market.DateLayout), err)
	}
	if canon, err := market.LookupDataset(ds.Name); err == nil && !slices.Equal(canon.ColumnNames(), ds.ColumnNames()) {
		return nil, fmt.Errorf("demo source: %s: columns %v are not the dataset's %v", ds.Name, ds.ColumnNames(), canon.ColumnNames())
	}
	var produce func(r *rows, t int) func([]any) bool
	switch ds.Name {
	case "daily":
		produce = s.gen.daily
	case "adj_factor":
		produce = s.gen.adjFactor
	case "daily_basic":
		produce = s.gen.dailyBasic
	default:
		return nil, fmt.Errorf("demo source: %w %q", market.ErrUnknownDataset, ds.Name)
	}
	if s.cfg.Latency > 0 {
		timer := time.NewTimer(s.cfg.Latency)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}

	r := &rows{ctx: ctx, vals: make([]any, len(ds.Columns)), failAt: -1}
	if f := s.failure(dayNumber(day)); f.msg != "" {
		err := fmt.Errorf("demo source: %s %s: %w", ds.Name, day.Format(market.DateLayout), &transientError{f.msg})
		if !f.midStream {
			return nil, err
		}
		r.failAt, r.failErr = f.afterRows, err
	}
	now := time.Now
	if s.cfg.Now != nil {
		now = s.cfg.Now
	}
	t, ok := s.gen.dayIndex(dayNumber(day))
	if !ok || now().Before(publishedAt(day)) { // not a trading day, or not published yet
		r.next = func([]any) bool { return false }
		return r, nil
	}
	r.vals[1] = day // constant for the whole day: boxed once
	r.next = produce(r, t)
	return r, nil
}

// failure decides, deterministically from the seed, the call count and the day, whether
// this fetch fails and how.
type failure struct {
	msg       string
	midStream bool
	afterRows int
}

func (s *Source) failure(dn int32) failure {
	if s.cfg.FailRate <= 0 {
		return failure{}
	}
	h := mix(mix(s.cfg.Seed^0x5eed_fa11) ^ mix(s.calls.Add(1)) ^ uint64(dn))
	u := h >> 11 // uniform on [0, 2^53)
	const one = 1 << 53
	if float64(u) >= s.cfg.FailRate*one {
		return failure{}
	}
	g := mix(h)
	if float64(u) < s.cfg.FailRate*0.9*one {
		return failure{msg: upfrontFailures[g%uint64(len(upfrontFailures))]}
	}
	return failure{
		msg:       streamFailures[g%uint64(len(streamFailures))],
		midStream: true,
		afterRows: 1 + int(g>>32%4000),
	}
}

// rows streams one day's rows; next fills vals with the following row.
type rows struct {
	ctx     context.Context
	vals    []any
	next    func(vals []any) bool
	n       int // rows produced
	err     error
	failAt  int // inject failErr after this many rows (at the end if fewer); -1 never
	failErr error
	done    bool
}

// ctxCheckEvery is how many stocks a stream walks between looks at its context.
const ctxCheckEvery = 256

func (r *rows) Next() bool {
	if r.done {
		return false
	}
	if r.failAt >= 0 && r.n >= r.failAt {
		r.err, r.done = r.failErr, true
		return false
	}
	if !r.next(r.vals) {
		r.done = true
		if r.err == nil && r.failAt >= 0 {
			r.err = r.failErr
		}
		return false
	}
	r.n++
	return true
}

// Values returns the current row. The slice is reused by the next call to Next.
func (r *rows) Values() ([]any, error) { return r.vals, nil }

func (r *rows) Err() error { return r.err }

// Len is -1: the demo computes its rows as they are read and does not know their number
// beforehand (see market.RowCount).
func (r *rows) Len() int { return -1 }

// cancelled is called by producers every ctxCheckEvery stocks; it stops the stream with
// the context's error.
func (r *rows) cancelled() bool {
	if err := r.ctx.Err(); err != nil {
		r.err = err
		return true
	}
	return false
}

// Synthetic says the demo's data is made up: pages and the API say so whenever it is in
// use.
func (s *Source) Synthetic() bool { return true }
