package engine

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// etaWindow is how many of the latest synced days the ETA's rate is taken from.
const etaWindow = 20

// buildSnapshot derives a batch's progress from its row and its days: counts, the days
// in flight, the newest errors, rows/s, the ETA and the message.
func buildSnapshot(b *store.Batch, days []store.Day, now time.Time, parallelism int) *market.Snapshot {
	s := &market.Snapshot{
		TaskID: b.TaskID, Status: b.Status, Total: b.Total,
		StartTime: b.StartedAt, EndTime: b.FinishedAt,
		Datasets: b.Datasets, StartDate: dateString(b.Start), EndDate: dateString(b.End),
		Force: b.Force, Priority: b.Priority, TradingDays: b.TradingDays,
		CreatedAt: b.CreatedAt, CreatedBy: b.CreatedBy, CreatedFrom: b.CreatedFrom, CancelledBy: b.CancelledBy,
		Reason: b.Message,
		Errors: []market.ErrorEntry{}, InFlight: []market.InFlight{},
		Days: make([]market.DayCell, len(days)),
	}
	var c store.Counts
	var latestStart time.Time
	var failed []store.Day
	synced := make([]span, 0, len(days))
	for i, d := range days {
		s.Days[i] = market.DayCell{Dataset: d.Dataset, Date: dateString(d.Day), Status: d.Status, Rows: d.Rows, Attempt: d.Attempts}
		switch d.Status {
		case market.DaySucceeded:
			c.Success++
			synced = append(synced, span{deref(d.StartedAt), deref(d.FinishedAt)})
		case market.DayFailed:
			c.Failed++
			failed = append(failed, d)
			synced = append(synced, span{deref(d.StartedAt), deref(d.FinishedAt)})
		case market.DaySkipped:
			c.Skipped++
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
	s.Success, s.Failed, s.Skipped, s.Cancelled = c.Success, c.Failed, c.Skipped, c.Cancelled
	s.Pending, s.Running = c.Pending, c.Running
	s.Current = c.Success + c.Failed + c.Skipped
	s.RowsLoaded = c.Rows
	if s.Total > 0 {
		s.ProgressPercent = math.Round(float64(s.Current)*1000/float64(s.Total)) / 10
	}

	slices.SortFunc(failed, func(a, b store.Day) int { return deref(b.FinishedAt).Compare(deref(a.FinishedAt)) })
	for _, d := range failed[:min(len(failed), 10)] {
		s.Errors = append(s.Errors, market.ErrorEntry{Dataset: d.Dataset, Date: dateString(d.Day),
			Error: deref(d.Error), Time: deref(d.FinishedAt), Attempt: d.Attempts})
	}

	run := elapsed(b.StartedAt, b.FinishedAt, now)
	if b.StartedAt != nil {
		secs := math.Round(run.Seconds()*10) / 10
		s.DurationSeconds = &secs
		if run > 0 {
			s.RowsPerSecond = math.Round(float64(c.Rows) / run.Seconds())
		}
	}
	if b.Status == market.BatchRunning || b.Status == market.BatchQueued {
		s.EstimatedCompletion = eta(synced, c.Pending+c.Running, parallelism, now)
	}
	s.Message = message(b.Status, b.Message, c, b.Total, s.CurrentDate, run)
	return s
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

// message is the batch's one-line state in the old API's spirit.
func message(status market.BatchStatus, stored string, c store.Counts, total int, current *string, run time.Duration) string {
	pct := 0.0
	if total > 0 {
		pct = math.Round(float64(c.Success+c.Failed+c.Skipped)*1000/float64(total)) / 10
	}
	counts := fmt.Sprintf("%d succeeded, %d failed, %d skipped", c.Success, c.Failed, c.Skipped)
	switch status {
	case market.BatchQueued:
		return fmt.Sprintf("queued: %d days waiting", c.Pending)
	case market.BatchRunning:
		if current != nil {
			return fmt.Sprintf("syncing %s... (%.1f%%)", *current, pct)
		}
		return fmt.Sprintf("syncing... (%.1f%%)", pct)
	case market.BatchPaused:
		return fmt.Sprintf("paused at %.1f%%", pct)
	case market.BatchCancelling:
		return fmt.Sprintf("cancelling: %d days still rolling back", c.Running)
	case market.BatchCompleted:
		return fmt.Sprintf("completed: %s in %s", counts, formatDuration(run))
	case market.BatchCancelled:
		return fmt.Sprintf("cancelled: %s, %d cancelled in %s", counts, c.Cancelled, formatDuration(run))
	case market.BatchFailed:
		return fmt.Sprintf("failed: %s (%s)", stored, counts)
	}
	return string(status)
}

// formatDuration writes d as 15m30s, 1h2m3s or 850ms.
func formatDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
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
