package market

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// The old system's clients (StockGuru's sync-status page) read a few answers in shapes
// of their own: the running task under /active, its Chinese state line, and one record
// per trading day under /list. These are those shapes, drawn from marketsync's batches.

// LegacyTask is the old /active answer's data: the task the old page shows in its
// "background sync" banner.
type LegacyTask struct {
	TaskID   string         `json:"task_id"`
	Progress LegacyProgress `json:"progress"`
}

// LegacyProgress is a batch's progress as the old /active answered it: the snapshot's
// old fields, except that start_time and end_time are the range's dates (the old page
// prints them as "同步范围: start_time 至 end_time") and task_start_time is when the
// batch started.
type LegacyProgress struct {
	Status              BatchStatus  `json:"status"`
	Total               int          `json:"total"`
	Current             int          `json:"current"`
	Success             int          `json:"success"`
	Failed              int          `json:"failed"`
	Skipped             int          `json:"skipped"`
	CurrentDate         *string      `json:"current_date"`
	Message             string       `json:"message"`
	ProgressPercent     float64      `json:"progress_percent"`
	StartTime           string       `json:"start_time"`
	EndTime             string       `json:"end_time"`
	TaskStartTime       *time.Time   `json:"task_start_time"`
	DurationSeconds     *float64     `json:"duration_seconds"`
	EstimatedCompletion *time.Time   `json:"estimated_completion"`
	Errors              []ErrorEntry `json:"errors"`
}

// NewLegacyTask turns a snapshot into the old /active shape, with the errors in the
// order they happened (LegacyErrors); the caller words Message (in Chinese, on the old
// paths).
func NewLegacyTask(s *Snapshot) LegacyTask {
	return LegacyTask{TaskID: s.TaskID, Progress: LegacyProgress{
		Status: s.Status, Total: s.Total, Current: s.Current,
		Success: s.Success, Failed: s.Failed, Skipped: s.Skipped,
		CurrentDate: s.CurrentDate, Message: s.Message, ProgressPercent: s.ProgressPercent,
		StartTime: s.StartDate, EndTime: s.EndDate, TaskStartTime: s.StartTime,
		DurationSeconds: s.DurationSeconds, EstimatedCompletion: s.EstimatedCompletion,
		Errors: LegacyErrors(s.Errors),
	}}
}

// LegacyErrors returns a snapshot's errors (newest first) oldest first, as the old API
// appended them: the old page shows the last three of the list.
func LegacyErrors(errs []ErrorEntry) []ErrorEntry {
	out := slices.Clone(errs)
	slices.Reverse(out)
	if out == nil {
		out = []ErrorEntry{}
	}
	return out
}

// PickLegacyTask chooses among the unfinished batches (newest first, as the engine lists
// them) the one the old page's banner shows, as the old system had a single task: the
// running batch that started first, else the newest queued, paused or cancelling one.
// It reports false when there is none.
func PickLegacyTask(active []BatchSummary) (string, bool) {
	var pick *BatchSummary
	for i := range active {
		b := &active[i]
		if b.Status != BatchRunning || b.StartTime == nil {
			continue
		}
		if pick == nil || b.StartTime.Before(*pick.StartTime) {
			pick = b
		}
	}
	if pick != nil {
		return pick.TaskID, true
	}
	for _, b := range active {
		if b.Status.Active() {
			return b.TaskID, true
		}
	}
	return "", false
}

// SyncStatus is a trading day's state in the old system's sync records (its
// daily_sync_status table), derived from marketsync's batches and coverage.
type SyncStatus string

// Sync record states.
const (
	// SyncSuccess: the day is loaded.
	SyncSuccess SyncStatus = "success"
	// SyncFailed: the day's latest attempt failed and it is not loaded.
	SyncFailed SyncStatus = "failed"
	// SyncSyncing: some batch is loading the day right now.
	SyncSyncing SyncStatus = "syncing"
	// SyncSkipped: the day's latest batch was cancelled before loading it.
	SyncSkipped SyncStatus = "skipped"
	// SyncPending: the day waits in an unfinished batch and is not loaded.
	SyncPending SyncStatus = "pending"
)

// SyncStatuses lists every sync record state, for the /list filter.
func SyncStatuses() []SyncStatus {
	return []SyncStatus{SyncSuccess, SyncFailed, SyncSyncing, SyncSkipped, SyncPending}
}

// ParseSyncStatus reads a sync record state; "" means any.
func ParseSyncStatus(s string) (SyncStatus, error) {
	if s == "" || slices.Contains(SyncStatuses(), SyncStatus(s)) {
		return SyncStatus(s), nil
	}
	return "", fmt.Errorf("%w: unknown status %q (known: %v)", ErrInvalidInput, s, SyncStatuses())
}

// SyncRecord is one trading day of a dataset in the old /list's shape. TotalRecords and
// SuccessCount are the rows loaded (0 when none); FailedCount is 1 when the day failed,
// else 0 (the old system counted failed stocks; marketsync loads a day whole or not at
// all). The times are those of the latest attempt: for a loaded day the one that loaded
// it, for a day syncing the one under way (no end yet).
type SyncRecord struct {
	ID              int        `json:"id"`
	SyncDate        string     `json:"sync_date"`
	Status          SyncStatus `json:"status"`
	TotalRecords    int64      `json:"total_records"`
	SuccessCount    int64      `json:"success_count"`
	FailedCount     int        `json:"failed_count"`
	StartTime       *time.Time `json:"start_time"`
	EndTime         *time.Time `json:"end_time"`
	DurationSeconds *int64     `json:"duration_seconds"`
	ErrorMessage    *string    `json:"error_message"`
	Remarks         string     `json:"remarks"`
}

// SyncStats counts the records of a /list query by state (the old API had no pending
// count).
type SyncStats struct {
	Total   int `json:"total"`
	Success int `json:"success"`
	Failed  int `json:"failed"`
	Syncing int `json:"syncing"`
	Skipped int `json:"skipped"`
}

// SyncFilter selects sync records: trading days from Start to End (zero: open), in
// Status ("" for any), one page of PageSize records, Page counted from 1.
type SyncFilter struct {
	Start, End time.Time
	Status     SyncStatus
	Page       int
	PageSize   int
}

// SyncPage is the old /list answer's data: one page of records, newest day first, and
// the stats of every record the filter matches.
type SyncPage struct {
	Records    []SyncRecord `json:"records"`
	Total      int          `json:"total"`
	Page       int          `json:"page"`
	PageSize   int          `json:"page_size"`
	TotalPages int          `json:"total_pages"`
	Stats      SyncStats    `json:"stats"`
}

// SyncRecordID is a day's stable record id: its date as the number YYYYMMDD.
func SyncRecordID(day time.Time) int {
	return day.Year()*10000 + int(day.Month())*100 + day.Day()
}

// SyncRemarks is a record's short Chinese description, as the old records had.
func SyncRemarks(status SyncStatus, rows int64, errMsg *string) string {
	switch status {
	case SyncSuccess:
		return fmt.Sprintf("同步完成: 入库%d条", rows)
	case SyncSyncing:
		return "同步中"
	case SyncPending:
		return "等待同步"
	case SyncSkipped:
		return "已取消"
	case SyncFailed:
		if errMsg != nil && *errMsg != "" {
			return "同步失败: " + clipRunes(*errMsg, 200)
		}
		return "同步失败"
	}
	return string(status)
}

// clipRunes shortens s to at most n characters.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// In moves every timestamp of t into z and returns t.
func (t *LegacyTask) In(z *time.Location) *LegacyTask {
	p := &t.Progress
	p.TaskStartTime = ptrIn(p.TaskStartTime, z)
	p.EstimatedCompletion = ptrIn(p.EstimatedCompletion, z)
	for i := range p.Errors {
		p.Errors[i].Time = in(p.Errors[i].Time, z)
	}
	return t
}

// In moves every timestamp of p into z, makes its records an empty list rather than
// none (the old page reads records.length), and returns p.
func (p *SyncPage) In(z *time.Location) *SyncPage {
	if p.Records == nil {
		p.Records = []SyncRecord{}
	}
	for i := range p.Records {
		r := &p.Records[i]
		r.StartTime = ptrIn(r.StartTime, z)
		r.EndTime = ptrIn(r.EndTime, z)
	}
	return p
}
