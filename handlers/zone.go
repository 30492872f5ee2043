package handlers

import (
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// The JSON API writes times in RFC 3339 with the display zone's offset. These helpers
// move every timestamp of a value (fresh from the engine, owned by the handler) into z.

func inZone(t time.Time, z *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(z)
}

func ptrInZone(t *time.Time, z *time.Location) *time.Time {
	if t == nil {
		return nil
	}
	v := t.In(z)
	return &v
}

func summariesInZone(items []market.BatchSummary, z *time.Location) []market.BatchSummary {
	if items == nil {
		return []market.BatchSummary{}
	}
	for i := range items {
		b := &items[i]
		b.CreatedAt = inZone(b.CreatedAt, z)
		b.StartTime = ptrInZone(b.StartTime, z)
		b.EndTime = ptrInZone(b.EndTime, z)
	}
	return items
}

func errorsInZone(items []market.ErrorRecord, z *time.Location) []market.ErrorRecord {
	if items == nil {
		return []market.ErrorRecord{}
	}
	for i := range items {
		items[i].Time = inZone(items[i].Time, z)
	}
	return items
}

func coverageInZone(c *market.Coverage, z *time.Location) *market.Coverage {
	for i := range c.Days {
		c.Days[i].SyncedAt = inZone(c.Days[i].SyncedAt, z)
	}
	if c.Days == nil {
		c.Days = []market.CoverageDay{}
	}
	return c
}
