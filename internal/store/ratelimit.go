package store

import (
	"context"
	"fmt"
	"time"
)

// RateLimiterConfig tunes a RateLimiter. The zero value counts calls per minute.
type RateLimiterConfig struct {
	// Period is the span a limit counts calls over (default one minute): a limit of n
	// spaces calls Period/n apart. Tests shrink it to keep a limit's window short.
	Period time.Duration
}

// RateLimiter spaces the calls to an upstream evenly across every process sharing the
// database, so that together they never exceed the upstream account's limit. Each call
// reserves the next free slot of its key in one UPDATE (a GCRA without burst: slots are
// Period/limit apart on the database's clock) and then sleeps until that slot. It is safe
// for concurrent use; build it with NewRateLimiter.
type RateLimiter struct {
	db     DB
	period time.Duration
}

// NewRateLimiter returns a limiter keeping its slots in db's rate_limits table.
func NewRateLimiter(db DB, cfg *RateLimiterConfig) *RateLimiter {
	l := &RateLimiter{db: db, period: time.Minute}
	if cfg != nil && cfg.Period > 0 {
		l.period = cfg.Period
	}
	return l
}

// Reservation is one call's slot.
type Reservation struct {
	// At is the slot, on the database's clock.
	At time.Time
	// Delay is how long the caller waits for its slot from the database's answer.
	Delay time.Duration

	key      string
	interval time.Duration
	next     time.Time // the key's tat after this reservation
}

// Reserve takes the next slot of key under a limit of perMinute calls per Period,
// without waiting for it. A perMinute of zero or less means no limit: the slot is now.
func (l *RateLimiter) Reserve(ctx context.Context, key string, perMinute int) (Reservation, error) {
	if perMinute <= 0 {
		return Reservation{At: time.Now()}, nil
	}
	r := Reservation{key: key, interval: l.period / time.Duration(perMinute)}
	var now time.Time
	err := l.db.QueryRow(ctx, `
		INSERT INTO rate_limits AS r (key, tat) VALUES ($1, clock_timestamp() + $2 * interval '1 microsecond')
		ON CONFLICT (key) DO UPDATE SET tat = greatest(r.tat, clock_timestamp()) + $2 * interval '1 microsecond'
		RETURNING r.tat, clock_timestamp()`, key, r.interval.Microseconds()).Scan(&r.next, &now)
	if err != nil {
		return Reservation{}, fmt.Errorf("reserving a call of %s: %w", key, err)
	}
	r.interval = time.Duration(r.interval.Microseconds()) * time.Microsecond
	r.At = r.next.Add(-r.interval)
	r.Delay = max(r.At.Sub(now), 0)
	return r, nil
}

// Wait blocks until the caller may make one call of key under a limit of perMinute
// calls per Period, shared with every other process using the database. When ctx ends
// first it gives the slot back if nobody reserved after it, and returns ctx.Err().
func (l *RateLimiter) Wait(ctx context.Context, key string, perMinute int) error {
	_, err := l.Await(ctx, key, perMinute)
	return err
}

// Await is Wait that also says how long the caller waited for its slot (zero when the
// slot was free at once), for the rate-limit metrics.
func (l *RateLimiter) Await(ctx context.Context, key string, perMinute int) (time.Duration, error) {
	r, err := l.Reserve(ctx, key, perMinute)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, err
	}
	if r.Delay <= 0 {
		return 0, nil
	}
	timer := time.NewTimer(r.Delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return r.Delay, nil
	case <-ctx.Done():
		l.cancel(ctx, r)
		return 0, ctx.Err()
	}
}

// cancel gives back a slot its caller will not use, when it is still the key's last:
// the next caller then gets it instead of waiting one more interval.
func (l *RateLimiter) cancel(ctx context.Context, r Reservation) {
	ctx, done := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer done()
	// Best effort: on failure the slot is merely wasted, which errs on the safe side.
	_, _ = l.db.Exec(ctx, `UPDATE rate_limits SET tat = tat - $2 * interval '1 microsecond'
		WHERE key = $1 AND tat = $3`, r.key, r.interval.Microseconds(), r.next)
}
