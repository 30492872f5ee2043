package views

import (
	"github.com/a-h/templ"

	"github.com/marketsync/marketsync/internal/market"
)

// Fragment is one block of a page that a live push replaces whole, by its element id.
type Fragment struct {
	ID        string
	Component templ.Component
}

// BatchFragments are the out-of-band blocks of a batch's page pushed to its viewers:
// status, controls, progress, timing, days in flight and errors, then either the whole
// grid (full) or the given changed cells. Each depends on nothing but the locale and the
// snapshot, so one rendering serves every viewer of that locale.
func BatchFragments(loc Locale, snap *market.Snapshot, cells []market.DayCell, full bool) []Fragment {
	out := []Fragment{
		{"batch-status", batchStatus(loc, snap, true)},
		{"batch-controls", batchControls(loc, snap, true)},
		{"batch-progress", batchProgress(loc, snap, true)},
		{"batch-timing", batchTiming(loc, snap, true)},
		{"batch-inflight", batchInflight(loc, snap, true)},
		{"batch-errors", batchErrors(loc, snap, true)},
	}
	if full {
		return append(out, Fragment{"batch-grid", batchGrid(loc, snap, true)})
	}
	for _, c := range cells {
		out = append(out, Fragment{CellID(c.Dataset, c.Date), dayCell(loc, c, true)})
	}
	return out
}
