package engine

import (
	"math"
	"slices"
	"time"

	"github.com/marketsync/marketsync/internal/catalog"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// etaWindow is how many of the latest synced days the ETA's rate is taken from.
const etaWindow = 20

// buildSnapshot derives a batch's progress from its row, its days and its newest errors:
// counts, the days in flight, the errors, rows/s, the ETA and the message.
// pace, when not nil, is the least time a day of a dataset takes under the source's rate
// limits.
func buildSnapshot(b *store.Batch, days []store.Day, errs recentErrors, now time.Time, parallelism int, pace func(string) time.Duration) *market.Snapshot {
	s := &market.Snapshot{
		TaskID: b.TaskID, Status: b.Status, Total: b.Total, Source: b.Source,
		StartTime: b.StartedAt, EndTime: b.FinishedAt,
		Datasets: b.Datasets, StartDate: dateString(b.Start), EndDate: dateString(b.End),
		Force: b.Force, Priority: b.Priority, TradingDays: b.TradingDays,
		CreatedAt: b.CreatedAt, CreatedBy: b.CreatedBy, CreatedFrom: b.CreatedFrom, CreatedUser: deref(b.CreatedUser), CancelledBy: b.CancelledBy,
		Reason: b.Message, RecentErrors: errs.items, ErrorCount: errs.total,
		Errors: []market.ErrorEntry{}, InFlight: []market.InFlight{},
	}
	c, synced, failed := fillDays(s, days)
	s.Success, s.Failed, s.Cancelled = c.Success, c.Failed, c.Cancelled
	s.Closed, s.AlreadyLoaded, s.Skipped = c.Closed, c.AlreadyLoaded, c.Skipped()
	s.Pending, s.Running = c.Pending, c.Running
	s.Current = c.Success + c.Failed + c.Skipped()
	s.RowsLoaded = c.Rows
	s.ProgressPercent = market.Percent(c.Success+c.Failed+c.AlreadyLoaded, b.TradingDays, b.Status.Finished())

	slices.SortFunc(failed, func(a, b store.Day) int { return deref(b.FinishedAt).Compare(deref(a.FinishedAt)) })
	for _, d := range failed[:min(len(failed), 10)] {
		s.Errors = append(s.Errors, market.ErrorEntry{Dataset: d.Dataset, Date: dateString(d.Day),
			Error: deref(d.Error), Time: deref(d.FinishedAt), Attempt: d.Attempts})
	}
	if b.StartedAt != nil {
		run := b.Duration(now)
		secs := math.Round(run.Seconds()*10) / 10
		s.DurationSeconds = &secs
		if run > 0 {
			s.RowsPerSecond = math.Round(float64(c.Rows) / run.Seconds())
		}
	}
	if b.Status == market.BatchRunning || b.Status == market.BatchQueued {
		s.EstimatedCompletion = eta(synced, c.Pending+c.Running, parallelism, now)
		if bound := paceBound(days, pace); bound > 0 {
			if t := now.Add(bound); s.EstimatedCompletion == nil || t.After(*s.EstimatedCompletion) {
				s.EstimatedCompletion = &t
			}
		}
	}
	s.Message = catalog.BatchLine(catalog.EN, s)
	return s
}

// recentErrors are a batch's newest failed attempts and how many there are.
type recentErrors struct {
	items []market.ErrorRecord
	total int
}

// fillDays fills s's grid, days in flight and latest day started from days, and counts
// them; it returns the counts, the spans of the days synced (for the ETA) and the
// failed days.
func fillDays(s *market.Snapshot, days []store.Day) (store.Counts, []span, []store.Day) {
	var c store.Counts
	var latestStart time.Time
	var failed []store.Day
	synced := make([]span, 0, len(days))
	s.Days = make([]market.DayCell, len(days))
	for i, d := range days {
		s.Days[i] = market.DayCell{Dataset: d.Dataset, Date: dateString(d.Day), Status: d.Status,
			Closed: !d.Trading, Rows: d.Rows, Attempt: d.Attempts}
		switch d.Status {
		case market.DaySucceeded:
			c.Success++
			synced = append(synced, span{deref(d.StartedAt), deref(d.FinishedAt)})
		case market.DayFailed:
			c.Failed++
			failed = append(failed, d)
			synced = append(synced, span{deref(d.StartedAt), deref(d.FinishedAt)})
		case market.DaySkipped:
			if d.Trading {
				c.AlreadyLoaded++
			} else {
				c.Closed++
			}
		case market.DayCancelled:
			c.Cancelled++
		case market.DayPending:
			c.Pending++
		case market.DayRunning:
			c.Running++
			s.InFlight = append(s.InFlight, market.InFlight{Dataset: d.Dataset, Date: dateString(d.Day), StartedAt: deref(d.StartedAt), Attempt: d.Attempts})
		}
		c.Rows += d.Rows
		if d.StartedAt != nil && d.StartedAt.After(latestStart) {
			latestStart = *d.StartedAt
			s.CurrentDate = &s.Days[i].Date
		}
	}
	return c, synced, failed
}

// span is when one day's load started and finished.
type span struct{ start, end time.Time }

// eta estimates when the remaining days finish from the recent rate of days actually
// synced (skipped days are instant and left out). With enough recent days the rate is
// measured across them, which includes every worker of every process; before that it
// is the mean time of a day divided by the parallelism.
func eta(synced []span, remaining, parallelism int, now time.Time) *time.Time {
	if remaining == 0 || len(synced) == 0 {
		return nil
	}
	slices.SortFunc(synced, func(a, b span) int { return a.end.Compare(b.end) })
	recent := synced[max(0, len(synced)-etaWindow):]
	first := recent[0].start
	var total time.Duration
	for _, d := range recent {
		total += d.end.Sub(d.start)
		if d.start.Before(first) {
			first = d.start
		}
	}
	var perDay time.Duration
	span := recent[len(recent)-1].end.Sub(first)
	if len(recent) > max(parallelism, 1) && span > 0 {
		perDay = span / time.Duration(len(recent))
	} else {
		perDay = total / time.Duration(len(recent)) / time.Duration(max(parallelism, 1))
	}
	t := now.Add(perDay * time.Duration(remaining))
	return &t
}

// addStage adds a range source's fetch to s: its progress, the line saying so while it
// runs, and an ETA from the rate of stocks fetched so far (the days load from staging in
// a fraction of that time).
func addStage(s *market.Snapshot, run *store.StageRun, now time.Time) {
	s.Stage = &market.StageProgress{StocksTotal: run.Total, StocksFetched: run.Fetched, Ready: run.Ready()}
	if run.Ready() || s.Status != market.BatchRunning {
		return
	}
	s.Message = catalog.BatchLine(catalog.EN, s)
	s.EstimatedCompletion = nil
	if took := now.Sub(run.StartedAt); run.Fetched > 0 && took > 0 {
		t := now.Add(took / time.Duration(run.Fetched) * time.Duration(run.Total-run.Fetched))
		s.EstimatedCompletion = &t
	}
}

// paceBound is the least time the days not done yet take under the source's rate
// limits: each dataset's days one after another at its pace, the datasets side by side
// (the limits are per api and hold across every process).
func paceBound(days []store.Day, pace func(string) time.Duration) time.Duration {
	if pace == nil {
		return 0
	}
	left := make(map[string]int)
	for _, d := range days {
		if d.Status == market.DayPending || d.Status == market.DayRunning {
			left[d.Dataset]++
		}
	}
	var bound time.Duration
	for ds, n := range left {
		bound = max(bound, time.Duration(n)*pace(ds))
	}
	return bound
}

func elapsed(start, end *time.Time, now time.Time) time.Duration {
	if start == nil {
		return 0
	}
	if end != nil {
		return end.Sub(*start)
	}
	return now.Sub(*start)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// optional is nil for a zero value (a NULL column), else a pointer to it.
func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}
