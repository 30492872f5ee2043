package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/marketsync/marketsync/internal/catalog"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// Verify fetches each loaded day of the datasets between start and end from the source
// again and compares it with the warehouse's: the number of rows and an order-independent
// digest of their values. Each verdict is recorded in coverage (the coverage page marks
// verified and differing days) and handed to fn as it comes. It returns how many days
// differ.
func (e *Engine) Verify(ctx context.Context, datasets []string, start, end time.Time, fn func(market.Verdict)) (int, error) {
	names, err := market.NormalizeDatasets(datasets)
	if err != nil {
		return 0, err
	}
	if err := e.cal.CheckRange(start, end); err != nil {
		return 0, err
	}
	if _, ok := e.src.(RangeSource); ok {
		return 0, fmt.Errorf("%w: the %s source answers per stock, not per day; verify against a per-day source (tushare)",
			market.ErrInvalidInput, e.src.Name())
	}
	differ := 0
	for _, name := range names {
		ds, _ := market.LookupDataset(name)
		days, err := store.LoadedDays(ctx, e.pool, ds.Name, start, end)
		if err != nil {
			return differ, fmt.Errorf("listing the loaded days of %s: %w", ds.Name, err)
		}
		for _, day := range days {
			v, err := e.verifyDay(ctx, ds, day)
			if err != nil {
				return differ, err
			}
			if !v.OK {
				differ++
			}
			fn(v)
		}
	}
	return differ, nil
}

// verifyDay compares one loaded day with the source's and records the verdict.
func (e *Engine) verifyDay(ctx context.Context, ds market.Dataset, day time.Time) (market.Verdict, error) {
	v := market.Verdict{Dataset: ds.Name, Date: dateString(day)}
	rows, err := e.src.Fetch(ctx, ds, day)
	if err != nil {
		return v, fmt.Errorf("fetching %s %s: %w", ds.Name, v.Date, err)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return v, err
		}
		v.Source.Add(vals)
	}
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("fetching %s %s: %w", ds.Name, v.Date, err)
	}
	if v.Warehouse, err = store.DayDigest(ctx, e.pool, ds, day); err != nil {
		return v, err
	}
	v.OK = v.Source == v.Warehouse
	switch {
	case v.Source.Rows != v.Warehouse.Rows:
		v.Note = fmt.Sprintf("%s rows upstream, %s here", catalog.Number(v.Source.Rows), catalog.Number(v.Warehouse.Rows))
	case !v.OK:
		v.Note = fmt.Sprintf("the same %s rows, but their values differ", catalog.Number(v.Source.Rows))
	}
	return v, store.RecordVerdict(ctx, e.pool, v, day)
}
