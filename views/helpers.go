package views

import (
	"fmt"
	"github.com/marketsync/marketsync/internal/catalog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// CellID is the stable element id of one day's grid cell: "cell-daily-2025-10-09".
func CellID(dataset, date string) string { return "cell-" + dataset + "-" + date }

// BatchURL is the path of a batch's progress page.
func BatchURL(taskID string) string { return "/batches/" + url.PathEscape(taskID) }

func batchAction(taskID, action string) string { return BatchURL(taskID) + "/" + action }

func errorsURL(taskID string, page int) string {
	u := BatchURL(taskID) + "/errors"
	if page > 1 {
		u += "?page=" + strconv.Itoa(page)
	}
	return u
}

func langURL(l Lang, next string) string {
	if next == "" {
		next = "/"
	}
	return "/lang/" + string(l) + "?next=" + url.QueryEscape(next)
}

func historyURL(f market.BatchFilter, page int) string {
	q := url.Values{}
	if st := f.StatusFilter(); st != "" {
		q.Set("status", st)
	}
	if f.Dataset != "" {
		q.Set("dataset", f.Dataset)
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/batches"
	}
	return "/batches?" + q.Encode()
}

func coverageURL(dataset string, year int) string {
	return fmt.Sprintf("/coverage?dataset=%s&year=%d", url.QueryEscape(dataset), year)
}

func itoa(n int) string { return strconv.Itoa(n) }

// pageCount is the number of pages of total items, at least 1.
func pageCount(total, size int) int {
	if size <= 0 {
		return 1
	}
	return max(1, (total+size-1)/size)
}

// pageLinks lists the page numbers to link to around cur: first, last, and cur±2,
// with 0 standing for an ellipsis.
func pageLinks(cur, last int) []int {
	var out []int
	prev := 0
	for p := 1; p <= last; p++ {
		if p == 1 || p == last || (p >= cur-2 && p <= cur+2) {
			if prev != 0 && p > prev+1 {
				out = append(out, 0)
			}
			out = append(out, p)
			prev = p
		}
	}
	return out
}

// summaryPercent is a summary's share of finished days, 0–100.
func summaryPercent(b market.BatchSummary) float64 {
	if b.Total == 0 {
		return 0
	}
	return float64(b.Success+b.Failed+b.Skipped) * 100 / float64(b.Total)
}

func pctWidth(p float64) string {
	p = min(max(p, 0), 100)
	return "width: " + strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

// summaryDuration is how long a batch ran, or has run so far when still going.
func summaryDuration(b market.BatchSummary, now time.Time) (time.Duration, bool) {
	if b.StartTime == nil {
		return 0, false
	}
	end := now
	if b.EndTime != nil {
		end = *b.EndTime
	}
	return end.Sub(*b.StartTime), true
}

// snapElapsed is the batch's run time: its recorded duration once known, else the time
// since it started.
func snapElapsed(s *market.Snapshot, now time.Time) time.Duration {
	if s.Finished() && s.DurationSeconds != nil {
		return time.Duration(*s.DurationSeconds * float64(time.Second))
	}
	return s.Elapsed(now)
}

func rangeText(start, end string) string {
	if start == end {
		return start
	}
	return start + " → " + end
}

func batchStatusClass(s market.BatchStatus) string {
	switch s {
	case market.BatchQueued:
		return "badge badge-queued"
	case market.BatchRunning:
		return "badge badge-running"
	case market.BatchPaused:
		return "badge badge-paused"
	case market.BatchCancelling:
		return "badge badge-cancelling"
	case market.BatchCompleted:
		return "badge badge-completed"
	case market.BatchFailed:
		return "badge badge-failed"
	case market.BatchCancelled:
		return "badge badge-cancelled"
	}
	return "badge"
}

func barClass(s market.BatchStatus, failed int) string {
	switch {
	case s == market.BatchFailed:
		return "bar bar-failed"
	case s == market.BatchCancelled || s == market.BatchCancelling:
		return "bar bar-cancelled"
	case s == market.BatchPaused:
		return "bar bar-paused"
	case s == market.BatchCompleted && failed > 0:
		return "bar bar-warn"
	case s == market.BatchCompleted:
		return "bar bar-done"
	}
	return "bar bar-running"
}

// cellState is how a grid cell shows its day: its state, or "closed" for a day the
// exchanges did not trade (skipped at the start, nothing to load).
func cellState(c market.DayCell) string {
	if c.Status == market.DaySkipped && c.Closed {
		return "closed"
	}
	return string(c.Status)
}

func cellClass(state string) string { return "cell cell-" + state }

// cellStates lists the states the grid's legend explains, in its order.
func cellStates() []string {
	return []string{string(market.DayPending), string(market.DayRunning), string(market.DaySucceeded),
		string(market.DaySkipped), string(market.DayFailed), string(market.DayCancelled), "closed"}
}

// cellTip is the tooltip of a grid cell: date, state, rows, attempts.
func cellTip(loc Locale, c market.DayCell) string {
	parts := []string{c.Date + " " + loc.Weekday(weekdayOf(c.Date)), loc.T("day." + cellState(c))}
	if c.Rows > 0 || c.Status == market.DaySucceeded {
		parts = append(parts, loc.T("grid.rows", loc.Number(c.Rows)))
	}
	if c.Attempt > 0 {
		parts = append(parts, loc.T("grid.attempts", c.Attempt))
	}
	return strings.Join(parts, " · ")
}

func weekdayOf(iso string) time.Weekday {
	d, err := time.Parse(market.DateLayout, iso)
	if err != nil {
		return time.Sunday
	}
	return d.Weekday()
}

// finalMessage is the localized one-line outcome of a finished batch.
func finalMessage(loc Locale, s *market.Snapshot) string { return catalog.BatchLine(loc.Lang, s) }

// statusLine is an unfinished batch's one-line state in the viewer's language (the
// snapshot's Message says it in English, from the same catalog).
func statusLine(loc Locale, s *market.Snapshot) string { return catalog.BatchLine(loc.Lang, s) }

// msg translates a message that may be a catalog key.
func msg(loc Locale, m string) string { return loc.T(m) }

// creatorText names who started a batch: the signed-in user, else where it came from.
func creatorText(loc Locale, s *market.Snapshot) string {
	if s.CreatedUser != "" {
		return s.CreatedUser
	}
	return originText(loc, s.CreatedBy+" "+s.CreatedFrom)
}

// gridSlot is one position of a calendar grid: a day of the range (Cell set), a date
// outside the range (Out), or no date at all (None: the 31st of a 30-day month).
type gridSlot struct {
	Cell *market.DayCell
	Day  int
	Date string
	Out  bool
	None bool
}

// gridRow is one row of a calendar grid: a week (weekly layout) or a month.
type gridRow struct {
	Label string
	Slots []gridSlot
}

// dayGrid is the calendar of one dataset's cells.
type dayGrid struct {
	Dataset string
	Weekly  bool
	Rows    []gridRow
}

// weeklyMaxDays is the longest range drawn as weeks (rows) of seven days; longer ranges
// are drawn as months (rows) of up to 31 days.
const weeklyMaxDays = 62

// buildGrids groups cells by dataset (in order of first appearance) and lays each out as
// a calendar.
func buildGrids(loc Locale, cells []market.DayCell) []dayGrid {
	var order []string
	by := map[string]map[string]*market.DayCell{}
	for i := range cells {
		c := &cells[i]
		if by[c.Dataset] == nil {
			by[c.Dataset] = map[string]*market.DayCell{}
			order = append(order, c.Dataset)
		}
		by[c.Dataset][c.Date] = c
	}
	var grids []dayGrid
	for _, ds := range order {
		days := by[ds]
		var first, last time.Time
		for date := range days {
			d, err := time.Parse(market.DateLayout, date)
			if err != nil {
				continue
			}
			if first.IsZero() || d.Before(first) {
				first = d
			}
			if last.IsZero() || d.After(last) {
				last = d
			}
		}
		if first.IsZero() {
			continue
		}
		g := dayGrid{Dataset: ds}
		if int(last.Sub(first).Hours()/24)+1 <= weeklyMaxDays {
			g.Weekly = true
			g.Rows = weeklyRows(loc, first, last, days)
		} else {
			g.Rows = monthlyRows(loc, first, last, days)
		}
		grids = append(grids, g)
	}
	return grids
}

func weeklyRows(loc Locale, first, last time.Time, days map[string]*market.DayCell) []gridRow {
	// Weeks start on Monday, as on Chinese calendars.
	start := first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7))
	var rows []gridRow
	for w := start; !w.After(last); w = w.AddDate(0, 0, 7) {
		row := gridRow{Label: loc.Month(w.Month()) + " " + itoa(w.Day())}
		if loc.Lang == LangZH {
			row.Label = fmt.Sprintf("%d月%d日", w.Month(), w.Day())
		}
		for i := range 7 {
			d := w.AddDate(0, 0, i)
			date := d.Format(market.DateLayout)
			row.Slots = append(row.Slots, gridSlot{Cell: days[date], Day: d.Day(), Date: date, Out: days[date] == nil})
		}
		rows = append(rows, row)
	}
	return rows
}

func monthlyRows(loc Locale, first, last time.Time, days map[string]*market.DayCell) []gridRow {
	var rows []gridRow
	for m := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(last); m = m.AddDate(0, 1, 0) {
		rows = append(rows, gridRow{Label: m.Format("2006-01"), Slots: monthSlots(m, func(date string) gridSlot {
			return gridSlot{Cell: days[date], Out: days[date] == nil}
		})})
	}
	return rows
}

// monthSlots returns 31 slots for month m, filled by fill for each of its days.
func monthSlots(m time.Time, fill func(date string) gridSlot) []gridSlot {
	slots := make([]gridSlot, 31)
	for i := range slots {
		d := m.AddDate(0, 0, i)
		if d.Month() != m.Month() {
			slots[i] = gridSlot{None: true, Day: i + 1}
			continue
		}
		date := d.Format(market.DateLayout)
		slots[i] = fill(date)
		slots[i].Day, slots[i].Date = i+1, date
	}
	return slots
}

// coverageSlot is one day of the coverage heatmap.
type coverageSlot struct {
	Date     string
	Day      int
	State    string // loaded, missing, failed, closed (non-trading), future (after End or before Start), none
	Rows     int64
	Synced   time.Time
	Source   string
	Verified string // ok, differs, or "" when never verified
}

// coverageRows lays a year of one dataset's coverage out as 12 month rows of 31 slots.
func coverageRows(loc Locale, year int, c market.Coverage) []coverageRow {
	days := map[string]market.CoverageDay{}
	for _, d := range c.Days {
		days[d.Date] = d
	}
	var rows []coverageRow
	for mo := time.January; mo <= time.December; mo++ {
		m := time.Date(year, mo, 1, 0, 0, 0, 0, time.UTC)
		row := coverageRow{Label: loc.Month(mo)}
		for _, s := range monthSlots(m, func(string) gridSlot { return gridSlot{} }) {
			cs := coverageSlot{Date: s.Date, Day: s.Day}
			switch {
			case s.None:
				cs.State = "none"
			case c.Start != "" && s.Date < c.Start, c.End != "" && s.Date > c.End:
				cs.State = "future"
			default:
				if d, ok := days[s.Date]; ok {
					cs.State, cs.Rows, cs.Synced = string(d.Status), d.Rows, d.SyncedAt
					cs.Source, cs.Verified = d.Source, d.Verified
				} else {
					cs.State = "closed"
				}
			}
			row.Slots = append(row.Slots, cs)
		}
		rows = append(rows, row)
	}
	return rows
}

type coverageRow struct {
	Label string
	Slots []coverageSlot
}

func coverageTip(loc Locale, s coverageSlot) string {
	parts := []string{s.Date + " " + loc.Weekday(weekdayOf(s.Date)), loc.T("coverage." + s.State)}
	if s.State == "loaded" {
		parts = append(parts, loc.T("grid.rows", loc.Number(s.Rows)))
		if !s.Synced.IsZero() {
			parts = append(parts, loc.T("coverage.synced_at", loc.DateTime(s.Synced)))
		}
		if s.Source != "" {
			parts = append(parts, loc.T("batch.source", s.Source))
		}
		switch s.Verified {
		case "ok":
			parts = append(parts, loc.T("coverage.verified_ok"))
		case "differs":
			parts = append(parts, loc.T("coverage.verified_differs"))
		}
	}
	return strings.Join(parts, " · ")
}

func selectable(state string) bool { return state == "missing" || state == "failed" }

func datasetTitle(loc Locale, name string) string {
	if HasKey("dataset." + name) {
		return loc.T("dataset." + name)
	}
	if ds, err := market.LookupDataset(name); err == nil {
		return ds.Title
	}
	return name
}

func prioritiesList() []int {
	return []int{market.PriorityUrgent, 2, 3, market.PriorityLow}
}

func elapsedAttr(s *market.Snapshot) string {
	if s.Finished() || s.StartTime == nil {
		return ""
	}
	if s.Status == market.BatchPaused {
		return ""
	}
	return strconv.FormatInt(s.StartTime.UnixMilli(), 10)
}

// summaryElapsedAttr is the data-elapsed-since of a batch in a list: its start while it
// runs, so the page's script keeps the time moving between pushes.
func summaryElapsedAttr(b market.BatchSummary) string {
	if b.StartTime == nil || b.Status != market.BatchRunning {
		return ""
	}
	return strconv.FormatInt(b.StartTime.UnixMilli(), 10)
}

// allows reports whether the batch's state allows action a: the engine's rule.
func allows(s *market.Snapshot, a market.Action) bool {
	return s.Status.Allows(a, s.Failed, s.Cancelled)
}

// retryLabel names what retry does here: the failed days, the days never loaded (a
// cancelled batch's), or both.
func retryLabel(loc Locale, s *market.Snapshot) string {
	remaining := 0
	if s.Finished() {
		remaining = s.Cancelled
	}
	switch {
	case s.Failed > 0 && remaining > 0:
		return loc.T("action.retry_both", s.Failed, remaining)
	case remaining > 0:
		return loc.T("action.finish", remaining)
	}
	return loc.T("action.retry", s.Failed)
}

// segment is one part of the progress bar.
type segment struct {
	class string
	pct   float64
}

// progressSegments splits the bar over the trading days' work: loaded, found loaded,
// failed, running (and what a cancel left undone), so that it is full at 100%.
// stagePercent is the share of a range source's stocks fetched, in percent.
func stagePercent(st *market.StageProgress) float64 { return share(st.StocksFetched, st.StocksTotal) }

func progressSegments(s *market.Snapshot) []segment {
	all := s.TradingDays
	return []segment{
		{"seg-succeeded", share(s.Success, all)},
		{"seg-skipped", share(s.AlreadyLoaded, all)},
		{"seg-failed", share(s.Failed, all)},
		{"seg-running", share(s.Running, all)},
	}
}

// coverageCellID is the element id of one day of the heatmap: "cov-daily-2025-10-09".
func coverageCellID(dataset, date string) string { return "cov-" + dataset + "-" + date }

func coverageSocket(dataset string, year int) string {
	return fmt.Sprintf("/ws/coverage?dataset=%s&year=%d", url.QueryEscape(dataset), year)
}

// changedSlots lists the days of next's heatmap that differ from prev's (every day when
// prev is nil or of another year).
func changedSlots(loc Locale, prev, next *market.Coverage) []coverageSlot {
	before := map[string]coverageSlot{}
	if prev != nil && prev.Year == next.Year {
		for _, r := range coverageRows(loc, prev.Year, *prev) {
			for _, s := range r.Slots {
				before[s.Date] = s
			}
		}
	}
	var out []coverageSlot
	for _, r := range coverageRows(loc, next.Year, *next) {
		for _, s := range r.Slots {
			if s.State == "none" {
				continue
			}
			if b, ok := before[s.Date]; !ok || b != s {
				out = append(out, s)
			}
		}
	}
	return out
}

// historySocket is the live feed of one history page: the same filter and page.
func historySocket(d HistoryData) string {
	u := historyURL(d.Filter, d.Page)
	_, q, _ := strings.Cut(u, "?")
	if q == "" {
		return "/ws/history"
	}
	return "/ws/history?" + q
}

// sourceLabel names a source in the form: "demo (synthetic data)".
func sourceLabel(loc Locale, s market.SourceInfo) string {
	if s.Synthetic {
		return loc.T("form.source_synthetic", s.Name)
	}
	return s.Name
}
