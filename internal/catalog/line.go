package catalog

import (
	"math"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// state is what a batch's line is said from.
type state struct {
	status                           market.BatchStatus
	reason                           string
	loaded, already, failed, notDone int
	pending, running                 int
	percent                          float64
	current                          string
	run                              time.Duration
}

// BatchLine is a batch's state in one line of lang: what it is doing while unfinished,
// how it ended once finished. The snapshot's Message (English), the batch page (the
// viewer's language) and the old API's message (Chinese) all say it with this.
func BatchLine(lang Lang, s *market.Snapshot) string {
	if st := s.Stage; st != nil && !st.Ready && s.Status == market.BatchRunning {
		pct := 0.0
		if st.StocksTotal > 0 {
			pct = math.Round(float64(st.StocksFetched)*1000/float64(st.StocksTotal)) / 10
		}
		return T(lang, "line.fetching", st.StocksFetched, st.StocksTotal, Percent(pct))
	}
	st := state{status: s.Status, reason: s.Reason, loaded: s.Success, already: s.AlreadyLoaded,
		failed: s.Failed, notDone: s.Cancelled + s.Pending, pending: s.Pending, running: s.Running,
		percent: s.ProgressPercent}
	if s.CurrentDate != nil {
		st.current = *s.CurrentDate
	}
	if s.DurationSeconds != nil {
		st.run = time.Duration(*s.DurationSeconds * float64(time.Second))
	}
	return line(lang, st)
}

// SummaryLine is BatchLine for a batch of a list.
func SummaryLine(lang Lang, b market.BatchSummary) string {
	st := state{status: b.Status, reason: b.Reason, loaded: b.Success, already: b.AlreadyLoaded,
		failed: b.Failed, notDone: b.Cancelled + b.Pending, pending: b.Pending, running: b.Running,
		percent: b.ProgressPercent, current: b.CurrentDate}
	if b.DurationSeconds != nil {
		st.run = time.Duration(*b.DurationSeconds * float64(time.Second))
	}
	return line(lang, st)
}

func line(lang Lang, s state) string {
	pct := Percent(s.percent)
	switch s.status {
	case market.BatchQueued:
		return T(lang, "line.queued", s.pending)
	case market.BatchRunning:
		if s.current != "" {
			return T(lang, "line.running", s.current, pct)
		}
		return T(lang, "line.running_nodate", pct)
	case market.BatchPaused:
		return T(lang, "line.paused", pct)
	case market.BatchCancelling:
		return T(lang, "line.cancelling", s.running)
	case market.BatchCompleted:
		return T(lang, "final.completed", s.loaded, s.already, s.failed, Duration(lang, s.run))
	case market.BatchCancelled:
		return T(lang, "final.cancelled", s.loaded, s.already, s.failed, s.notDone, Duration(lang, s.run))
	case market.BatchFailed:
		return T(lang, "final.failed", s.reason, s.loaded, s.already, s.failed)
	}
	return string(s.status)
}
