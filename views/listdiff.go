package views

import (
	"reflect"

	"github.com/marketsync/marketsync/internal/market"
)

// rowOps turns a pushed list of batches from what viewers show (prev) into next while
// sending no row that did not change: rows gone are deleted, rows changed replaced, new
// rows added above or below the rows kept. When the rows kept moved among themselves, or
// a new row falls between kept ones, the whole list goes instead.
type rowOps struct {
	whole   bool
	gone    []string
	changed []market.BatchSummary
	top     []market.BatchSummary
	bottom  []market.BatchSummary
}

func diffRows(prev, next []market.BatchSummary) rowOps {
	var ops rowOps
	before := make(map[string]market.BatchSummary, len(prev))
	for _, b := range prev {
		before[b.TaskID] = b
	}
	inNext := make(map[string]bool, len(next))
	var keptOrder []string
	seenKept := false
	for _, b := range next {
		inNext[b.TaskID] = true
		old, kept := before[b.TaskID]
		switch {
		case kept:
			if len(ops.bottom) > 0 {
				return rowOps{whole: true} // a new row between kept ones
			}
			seenKept = true
			keptOrder = append(keptOrder, b.TaskID)
			if !reflect.DeepEqual(old, b) {
				ops.changed = append(ops.changed, b)
			}
		case seenKept:
			ops.bottom = append(ops.bottom, b)
		default:
			ops.top = append(ops.top, b)
		}
	}
	i := 0
	for _, b := range prev {
		if !inNext[b.TaskID] {
			ops.gone = append(ops.gone, b.TaskID)
			continue
		}
		if keptOrder[i] != b.TaskID {
			return rowOps{whole: true} // kept rows changed places
		}
		i++
	}
	return ops
}
