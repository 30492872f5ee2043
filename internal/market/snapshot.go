package market

import "time"

// Snapshot is the progress of one batch at one moment: the single source of truth that
// the web pages, the WebSocket pushes, the JSON API and the CLI all draw from. It keeps
// every field of the old API (status … errors) and adds what users asked for since.
type Snapshot struct {
	TaskID string `json:"task_id"`

	// The old API's fields. Counts are (dataset, calendar day) pairs; with one dataset
	// they are calendar days. Current = Success + Failed + Skipped, Skipped = Closed +
	// AlreadyLoaded. ProgressPercent is the share of the trading days' work done (loaded,
	// found loaded already, or failed): a fresh batch is at 0% whatever its weekends.
	Status              BatchStatus  `json:"status"`
	Total               int          `json:"total"`
	Current             int          `json:"current"`
	Success             int          `json:"success"`
	Failed              int          `json:"failed"`
	Skipped             int          `json:"skipped"`
	CurrentDate         *string      `json:"current_date"`
	Message             string       `json:"message"`
	ProgressPercent     float64      `json:"progress_percent"`
	StartTime           *time.Time   `json:"start_time"`
	EndTime             *time.Time   `json:"end_time"`
	DurationSeconds     *float64     `json:"duration_seconds"`
	EstimatedCompletion *time.Time   `json:"estimated_completion"`
	Errors              []ErrorEntry `json:"errors"`

	// What marketsync adds.
	// Source is where the batch loads from; Synthetic says its data is made up (the
	// demo market).
	Source    string `json:"source"`
	Synthetic bool   `json:"synthetic,omitempty"`
	// Stage is the fetch of a range source's batch (Baostock) into staging, before its
	// days load; nil for other sources, and once the batch ended.
	Stage *StageProgress `json:"stage,omitempty"`
	// Notes are what the source says of its data that the batch should show (Baostock:
	// no Beijing stocks).
	Notes     []Note   `json:"notes,omitempty"`
	Datasets  []string `json:"datasets"`
	StartDate string   `json:"start_date"`
	EndDate   string   `json:"end_date"`
	Force     bool     `json:"force"`
	Priority  int      `json:"priority"`
	Pending   int      `json:"pending"`
	Running   int      `json:"running"`
	Cancelled int      `json:"cancelled"`
	// Closed counts the days on which the exchanges were closed (nothing to load) and
	// AlreadyLoaded the trading days found loaded already (skipped, not forced).
	Closed        int        `json:"closed"`
	AlreadyLoaded int        `json:"already_loaded"`
	TradingDays   int        `json:"trading_days"`
	RowsLoaded    int64      `json:"rows_loaded"`
	RowsPerSecond float64    `json:"rows_per_second"`
	InFlight      []InFlight `json:"in_flight"`
	CreatedAt     time.Time  `json:"created_at"`
	CreatedBy     string     `json:"created_by"`
	CreatedFrom   string     `json:"created_from,omitempty"`
	// CreatedUser is the signed-in user who started the batch, if any.
	CreatedUser string  `json:"created_user,omitempty"`
	CancelledBy *string `json:"cancelled_by"`
	// Reason says why a failed batch could not go on, in the source's words.
	Reason string `json:"reason,omitempty"`
	// RecentErrors are the newest failed attempts (10 at most) of ErrorCount in all, each
	// saying whether its day loaded since: the batch page's error panel agrees with its
	// errors page.
	RecentErrors []ErrorRecord `json:"recent_errors"`
	ErrorCount   int           `json:"error_count"`
	// Days has one cell per (dataset, calendar day) of the range, in date order.
	Days []DayCell `json:"days,omitempty"`
}

// ErrorEntry is one failed day in the old API's shape.
type ErrorEntry struct {
	Dataset string    `json:"dataset"`
	Date    string    `json:"date"`
	Error   string    `json:"error"`
	Time    time.Time `json:"time"`
	Attempt int       `json:"attempt"`
}

// InFlight is a day being loaded right now.
type InFlight struct {
	Dataset   string    `json:"dataset"`
	Date      string    `json:"date"`
	StartedAt time.Time `json:"started_at"`
	Attempt   int       `json:"attempt"`
}

// DayCell is the state of one (dataset, day) for the progress grid. A skipped day is
// Closed (no trading) or was loaded already.
type DayCell struct {
	Dataset string    `json:"dataset"`
	Date    string    `json:"date"`
	Status  DayStatus `json:"status"`
	Closed  bool      `json:"closed,omitempty"`
	Rows    int64     `json:"rows"`
	Attempt int       `json:"attempts"`
}

// Finished reports whether the batch has reached a final state.
func (s *Snapshot) Finished() bool { return s.Status.Finished() }

// Elapsed is the time the batch has run so far, or its whole duration once finished.
func (s *Snapshot) Elapsed(now time.Time) time.Duration {
	if s.StartTime == nil {
		return 0
	}
	if s.EndTime != nil {
		return s.EndTime.Sub(*s.StartTime)
	}
	return now.Sub(*s.StartTime)
}

// ErrorRecord is one failed attempt of one day, as the errors API pages through them.
// Final says the attempt was the day's last (it failed); Resolved that the day loaded
// since, in a later attempt or a retry.
type ErrorRecord struct {
	ID       int64     `json:"id"`
	Dataset  string    `json:"dataset"`
	Date     string    `json:"date"`
	Attempt  int       `json:"attempt"`
	Final    bool      `json:"final"`
	Resolved bool      `json:"resolved"`
	Message  string    `json:"error"`
	Time     time.Time `json:"time"`
}

// BatchSummary is one line of the batch history; its counts mean what the snapshot's do.
type BatchSummary struct {
	TaskID          string      `json:"task_id"`
	Status          BatchStatus `json:"status"`
	Source          string      `json:"source"`
	Datasets        []string    `json:"datasets"`
	StartDate       string      `json:"start_date"`
	EndDate         string      `json:"end_date"`
	Total           int         `json:"total"`
	Success         int         `json:"success"`
	Failed          int         `json:"failed"`
	Skipped         int         `json:"skipped"`
	Closed          int         `json:"closed"`
	AlreadyLoaded   int         `json:"already_loaded"`
	Cancelled       int         `json:"cancelled"`
	Pending         int         `json:"pending"`
	Running         int         `json:"running"`
	TradingDays     int         `json:"trading_days"`
	ProgressPercent float64     `json:"progress_percent"`
	CurrentDate     string      `json:"-"`
	RowsLoaded      int64       `json:"rows_loaded"`
	Priority        int         `json:"priority"`
	CreatedAt       time.Time   `json:"created_at"`
	CreatedBy       string      `json:"created_by"`
	StartTime       *time.Time  `json:"start_time"`
	EndTime         *time.Time  `json:"end_time"`
	DurationSeconds *float64    `json:"duration_seconds"`
	Reason          string      `json:"reason,omitempty"`
	Message         string      `json:"message"`
}

// BatchFilter selects batches for the history.
type BatchFilter struct {
	Status BatchStatus
	// Unfinished selects the batches not finished yet (any of the active states).
	Unfinished bool
	// WithFailures selects the batches that completed with failed days.
	WithFailures bool
	Dataset      string
	Limit        int
	Offset       int
}

// History filter names beyond the statuses: what users pick in the history's status
// filter and send as ?status=.
const (
	FilterUnfinished   = "active"
	FilterWithFailures = "completed_failed"
)

// ParseStatusFilter sets f's state filter from name: a batch status, FilterUnfinished or
// FilterWithFailures; it reports false for anything else.
func (f *BatchFilter) ParseStatusFilter(name string) bool {
	switch name {
	case FilterUnfinished:
		f.Unfinished = true
		return true
	case FilterWithFailures:
		f.Status, f.WithFailures = BatchCompleted, true
		return true
	}
	for _, st := range BatchStatuses() {
		if string(st) == name {
			f.Status = st
			return true
		}
	}
	return false
}

// StatusFilter is the name of f's state filter, as ParseStatusFilter reads it ("" for
// none).
func (f BatchFilter) StatusFilter() string {
	switch {
	case f.Unfinished:
		return FilterUnfinished
	case f.WithFailures:
		return FilterWithFailures
	}
	return string(f.Status)
}

// CoverageState is what the warehouse holds of one trading day of one dataset.
type CoverageState string

// Coverage states.
const (
	CoverageLoaded  CoverageState = "loaded"
	CoverageMissing CoverageState = "missing"
	// CoverageFailed: not loaded, and some batch's attempt at the day failed.
	CoverageFailed CoverageState = "failed"
)

// CoverageDay is one trading day of one dataset in the coverage map.
type CoverageDay struct {
	Date     string        `json:"date"`
	Status   CoverageState `json:"status"`
	Rows     int64         `json:"rows"`
	SyncedAt time.Time     `json:"synced_at,omitzero"`
	// Source is the source that loaded the day; Verified what verifying it found
	// ("ok", "differs"; empty: never verified).
	Source   string `json:"source,omitempty"`
	Verified string `json:"verified,omitempty"`
}

// Coverage is what is loaded of one dataset between two dates.
type Coverage struct {
	// Year is the year shown, when the coverage is of one (CoverageYear).
	Year    int           `json:"-"`
	Dataset string        `json:"dataset"`
	Start   string        `json:"start"`
	End     string        `json:"end"`
	Loaded  int           `json:"loaded"`
	Missing int           `json:"missing"`
	FailedN int           `json:"failed"`
	Days    []CoverageDay `json:"days"`
}

// Overview is what the dashboard shows: the first of the unfinished batches (newest
// first) and how many there are in all, and the latest finished batches.
type Overview struct {
	Active      []BatchSummary `json:"active"`
	ActiveTotal int            `json:"active_total"`
	Recent      []BatchSummary `json:"recent"`
}

// StageProgress is where a range source's fetch stands: stocks fetched of all, each over
// the batch's whole range in one call (or a few).
type StageProgress struct {
	StocksTotal   int `json:"stocks_total"`
	StocksFetched int `json:"stocks_fetched"`
	// Ready is true once every stock is fetched: the days load from then on.
	Ready bool `json:"ready"`
}

// Note is a remark about a batch's data: Key names it in the catalog (pages translate
// it), Text is its English.
type Note struct {
	Key  string `json:"key"`
	Text string `json:"text"`
}
