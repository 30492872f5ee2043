package market

import (
	"fmt"
	"math"
	"time"
)

// BatchStatus is the state of a batch. Every transition is one SQL statement or
// transaction; Completed, Failed and Cancelled are final until a retry.
type BatchStatus string

// Batch states.
const (
	BatchQueued     BatchStatus = "queued"
	BatchRunning    BatchStatus = "running"
	BatchPaused     BatchStatus = "paused"
	BatchCancelling BatchStatus = "cancelling"
	// BatchCompleted means the batch ran to its end; its Failed count says whether some
	// days failed.
	BatchCompleted BatchStatus = "completed"
	// BatchFailed means the batch itself could not go on (the source refused it).
	BatchFailed    BatchStatus = "failed"
	BatchCancelled BatchStatus = "cancelled"
)

// BatchStatuses lists every batch state, for filters.
func BatchStatuses() []BatchStatus {
	return []BatchStatus{BatchQueued, BatchRunning, BatchPaused, BatchCancelling,
		BatchCompleted, BatchFailed, BatchCancelled}
}

// Finished reports whether s is a final state.
func (s BatchStatus) Finished() bool {
	return s == BatchCompleted || s == BatchFailed || s == BatchCancelled
}

// Active reports whether a batch in state s still has work to do or to stop.
func (s BatchStatus) Active() bool { return !s.Finished() }

// ActiveStatuses lists the states of a batch that is not finished, for queries.
func ActiveStatuses() []BatchStatus {
	return []BatchStatus{BatchQueued, BatchRunning, BatchPaused, BatchCancelling}
}

// Action is something an operator does to a batch.
type Action string

// Batch actions.
const (
	ActionCancel Action = "cancel"
	ActionPause  Action = "pause"
	ActionResume Action = "resume"
	// ActionRetry queues again the failed days and, once the batch has finished, the
	// days it never loaded (cancelled ones): "finish the remaining days".
	ActionRetry Action = "retry"
)

// Actions lists every action, in the order pages offer them.
func Actions() []Action { return []Action{ActionPause, ActionResume, ActionRetry, ActionCancel} }

// ParseAction returns the action called name.
func ParseAction(name string) (Action, bool) {
	for _, a := range Actions() {
		if string(a) == name {
			return a, true
		}
	}
	return "", false
}

// Allows reports whether a batch in state s, with failed and cancelled days, allows a:
// the one rule the engine enforces and the pages offer by.
func (s BatchStatus) Allows(a Action, failed, cancelled int) bool {
	switch a {
	case ActionCancel:
		return s.Active() && s != BatchCancelling
	case ActionPause:
		return s == BatchQueued || s == BatchRunning
	case ActionResume:
		return s == BatchPaused
	case ActionRetry:
		return s != BatchCancelling && (failed > 0 || (s.Finished() && cancelled > 0))
	}
	return false
}

// Percent is the share of work done, 0 to 100 with one decimal: done of all, and 100
// for a finished batch with nothing to do.
func Percent(done, all int, finished bool) float64 {
	if all == 0 {
		if finished {
			return 100
		}
		return 0
	}
	return math.Round(float64(done)*1000/float64(all)) / 10
}

// DayStatus is the state of one (dataset, calendar day) of a batch.
type DayStatus string

// Day states.
const (
	DayPending   DayStatus = "pending"
	DayRunning   DayStatus = "running"
	DaySucceeded DayStatus = "succeeded"
	DayFailed    DayStatus = "failed"
	DaySkipped   DayStatus = "skipped"
	DayCancelled DayStatus = "cancelled"
)

// DayStatuses lists every day state, for queries and metrics.
func DayStatuses() []DayStatus {
	return []DayStatus{DayPending, DayRunning, DaySucceeded, DayFailed, DaySkipped, DayCancelled}
}

// Finished reports whether s is a final state.
func (s DayStatus) Finished() bool {
	return s == DaySucceeded || s == DayFailed || s == DaySkipped || s == DayCancelled
}

// Priority bounds: 1 is urgent, 4 is low, as River orders them.
const (
	PriorityUrgent  = 1
	PriorityDefault = 2
	PriorityLow     = 4
)

// CheckPriority returns ErrInvalidInput, with the range, for a priority outside 1 to 4.
func CheckPriority(p int) error {
	if p < PriorityUrgent || p > PriorityLow {
		return fmt.Errorf("%w: priority must be %d (urgent) to %d (low), not %d", ErrInvalidInput, PriorityUrgent, PriorityLow, p)
	}
	return nil
}

// Origin says where an action on a batch came from: the pages, the API, the CLI or the
// schedule.
type Origin string

// Origins record where an action came from until login exists.
const (
	OriginWeb      Origin = "web"
	OriginAPI      Origin = "api"
	OriginCLI      Origin = "cli"
	OriginSchedule Origin = "schedule"
)

// Spec asks for a batch: every calendar day from Start to End (inclusive) of each
// dataset, or, when Days is set, exactly those days (then Start and End are ignored).
type Spec struct {
	// Source names the source to load from ("" is the engine's default).
	Source   string
	Datasets []string
	Start    time.Time
	End      time.Time
	// Days lists the trading days of a batch of chosen days (the coverage page's
	// selection); each must be a trading day.
	Days []time.Time
	// Force reloads days that are already synced.
	Force bool
	// Priority is 1 (urgent) to 4 (low); 0 means PriorityDefault.
	Priority int
	// CreatedBy is the origin (OriginWeb, …) and CreatedFrom the client address.
	CreatedBy   Origin
	CreatedFrom string
	// CreatedUser is the signed-in user who asked for it ("" when nobody signed in).
	CreatedUser string
}

// Actor says who asked for an action on a batch: the origin, the client address and,
// when someone signed in, the user.
type Actor struct {
	By   Origin
	From string
	// User is the account's name ("anonymous" when the server lets anyone act).
	User string
}

// String renders the actor as the user's name, else "web 127.0.0.1", for logs and
// pages.
func (a Actor) String() string {
	if a.User != "" && a.User != "anonymous" {
		return a.User
	}
	if a.From == "" {
		return string(a.By)
	}
	return string(a.By) + " " + a.From
}

// Estimate is what a spec would start: the calendar days it covers, its trading
// (dataset, day) pairs, and how long they would take at the recent pace (zero when there
// is no recent pace to go by).
type Estimate struct {
	Days        int           `json:"days"`
	TradingDays int           `json:"trading_days"`
	Duration    time.Duration `json:"-"`
}

// SourceInfo describes a configured source for pages and the API: its name, the
// datasets it serves, whether its data is made up (the demo), whether it is the default.
type SourceInfo struct {
	Name      string   `json:"name"`
	Datasets  []string `json:"datasets"`
	Synthetic bool     `json:"synthetic"`
	Default   bool     `json:"default"`
}
