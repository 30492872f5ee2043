package views

import (
	"strings"

	"github.com/marketsync/marketsync/internal/market"
)

// Form field names, shared by the start form, its error map and the JSON API.
const (
	FieldStart    = "start_date"
	FieldEnd      = "end_date"
	FieldDatasets = "datasets"
	FieldForce    = "force"
	FieldPriority = "priority"
	FieldSource   = "source"
	// FieldConfirmed carries the confirmation of a big batch: the ConfirmToken of the
	// values the viewer saw the estimate for.
	FieldConfirmed = "confirmed"
	// FieldForm keys an error that belongs to no single field (shown above the button).
	FieldForm = ""
)

// StartForm is the dashboard's "start a batch" form: its values (dates as YYYY-MM-DD) and,
// after a rejected submit, one message per field keyed by the Field constants. A message
// may be a catalog key ("err.range") or text as the API words it; keys are translated.
type StartForm struct {
	// Source is the chosen source; Sources the ones offered.
	Source   string
	Sources  []market.SourceInfo
	Start    string
	End      string
	Datasets []string
	Force    bool
	Priority int
	Errors   map[string]string
	// Confirm, when set, asks the viewer to confirm a batch over a year, with what it
	// would start and cost.
	Confirm *market.Estimate
	// Min and Max bound the date pickers: the calendar's first day and the latest day
	// ready (YYYY-MM-DD; empty: unbounded).
	Min, Max string
}

// ConfirmToken names the form's range and datasets: a confirmation counts only for the
// values it was given for.
func (f StartForm) ConfirmToken() string {
	return f.Source + "/" + f.Start + "/" + f.End + "/" + strings.Join(f.Datasets, ",")
}

// NewStartForm returns the form's defaults: both dates on day (the last trading day),
// every dataset's default (daily), no force, priority 2.
func NewStartForm(day string) StartForm {
	return StartForm{Start: day, End: day, Datasets: []string{market.DatasetNames()[0]},
		Priority: market.PriorityDefault}
}

// DashboardData feeds the dashboard: the start form, and the newest running batches
// and latest finished ones.
type DashboardData struct {
	Form     StartForm
	Overview *market.Overview
	// CalendarEnds, when set, warns that the trading calendar is known only through this
	// day (YYYY-MM-DD), less than 30 days from now.
	CalendarEnds string
	// Schedules are the daily schedules: the panel shows each one's next run and last
	// outcome (none: no panel).
	Schedules []market.Schedule
}

// HistoryData is one page of the batch history, newest first. Page counts from 1;
// Filter's Status and Dataset are the active filters (Limit and Offset are ignored).
type HistoryData struct {
	Items    []market.BatchSummary
	Total    int
	Page     int
	PageSize int
	Filter   market.BatchFilter
}

// ErrorsData is one page of a batch's error log, newest first. Page counts from 1.
type ErrorsData struct {
	TaskID   string
	Items    []market.ErrorRecord
	Total    int
	Page     int
	PageSize int
}

// CoverageData feeds the coverage page: for the selected dataset and year, one
// market.Coverage per dataset shown (normally one, spanning the year's days up to today;
// days in [Start, End] missing from Days are non-trading). Years lists the years the
// switcher offers, oldest first.
type CoverageData struct {
	Dataset  string
	Year     int
	Years    []int
	Coverage []market.Coverage
}

// SyncResult is the answer to the coverage page's "sync selected days": the batch
// started for the selected days and how many they are, or the reason none was (Error: a
// catalog key or text).
type SyncResult struct {
	TaskIDs []string
	Days    int
	Error   string
}

// FlashKind is the tone of a Flash message.
type FlashKind string

// Flash tones.
const (
	FlashInfo    FlashKind = "info"
	FlashSuccess FlashKind = "success"
	FlashError   FlashKind = "error"
)

// SettingsData feeds the settings page: one section per kind of setting, each a card of
// its own (the schedules now; more sections join them).
type SettingsData struct {
	Schedules ScheduleSection
}

// ScheduleSection is the settings page's daily schedules: the list, the sources a new
// schedule may use, and the add form's values with the outcome of the last change.
type ScheduleSection struct {
	Schedules []market.Schedule
	Sources   []market.SourceInfo
	Form      ScheduleForm
}

// ScheduleForm is what POST /settings/schedules sent (time as HH:MM) and what came of
// it: Error says why nothing changed, Saved what did (both text, in the viewer's
// language).
type ScheduleForm struct {
	Dataset string
	Source  string
	Time    string
	Enabled bool
	Error   string
	Saved   string
}
