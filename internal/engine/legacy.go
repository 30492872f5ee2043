package engine

import (
	"context"
	"fmt"
	"math"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// legacyDataset is the dataset whose trading days the old system's sync records list:
// the old system synced daily bars only.
const legacyDataset = "daily"

// SyncRecords answers the old system's sync-status list: one record per trading day of
// the daily dataset that marketsync has loaded or that some batch covers, filtered by
// f, newest first, one page of them with the stats of all that match.
func (e *Engine) SyncRecords(ctx context.Context, f market.SyncFilter) (*market.SyncPage, error) {
	page, size := max(f.Page, 1), f.PageSize
	if size < 1 || size > 100 {
		size = 50
	}
	days, stats, err := store.SyncDays(ctx, e.pool, store.SyncDayQuery{
		Dataset: legacyDataset, From: f.Start, To: f.End, Status: f.Status,
		Limit: size, Offset: (page - 1) * size,
	})
	if err != nil {
		return nil, fmt.Errorf("listing sync records: %w", err)
	}
	out := &market.SyncPage{
		Records: make([]market.SyncRecord, len(days)), Total: stats.Total, Page: page, PageSize: size,
		TotalPages: (stats.Total + size - 1) / size, Stats: stats,
	}
	for i, d := range days {
		out.Records[i] = syncRecord(d)
	}
	return out, nil
}

// syncRecord turns what the store knows of a day into its record.
func syncRecord(d store.SyncDay) market.SyncRecord {
	r := market.SyncRecord{
		ID: market.SyncRecordID(d.Day), SyncDate: dateString(d.Day), Status: d.Status,
		TotalRecords: d.Rows, SuccessCount: d.Rows,
		StartTime: d.StartedAt, EndTime: d.FinishedAt, ErrorMessage: d.Error,
		Remarks: market.SyncRemarks(d.Status, d.Rows, d.Error),
	}
	if d.Status == market.SyncFailed {
		r.FailedCount = 1
	}
	if d.StartedAt != nil && d.FinishedAt != nil {
		secs := int64(math.Round(d.FinishedAt.Sub(*d.StartedAt).Seconds()))
		r.DurationSeconds = &secs
	}
	return r
}
