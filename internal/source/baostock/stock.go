package baostock

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// EarliestDate returns the Shanghai exchange's first trading day, 1990-12-19: adjustment
// events are asked from there, so that a range's factors include every earlier event.
func EarliestDate() time.Time { return time.Date(1990, 12, 19, 0, 0, 0, 0, time.UTC) }

// StockRange is one stock's rows over a date range, in the warehouse's tables, column
// orders and units: what a range source hands to staging.
type StockRange struct {
	// Daily holds daily_bar rows (in DailyColumns order), suspended days left out.
	Daily [][]any
	// DailyBasic holds daily_basic rows (in DailyBasicColumns order), suspended days left out.
	DailyBasic [][]any
	// AdjFactor holds adj_factor rows (in AdjFactorColumns order), one per day Baostock has a
	// bar for, suspended days included: the stock is listed on them.
	AdjFactor [][]any
}

// ByDataset returns the rows keyed by dataset name (market's Dataset.Name): "daily",
// "daily_basic" and "adj_factor".
func (r *StockRange) ByDataset() map[string][][]any {
	return map[string][][]any{"daily": r.Daily, "daily_basic": r.DailyBasic, "adj_factor": r.AdjFactor}
}

// FetchOptions narrow what FetchStock asks for.
type FetchOptions struct {
	// MaxRows is the most daily bars the range can hold for the stock (its trading days
	// while listed; 0: unknown): the k data then takes one call, not two (KDataQuery).
	MaxRows int
	// NoAdjFactor skips the adjustment events (a second query) when adj_factor is not
	// wanted; AdjFactor is then empty.
	NoAdjFactor bool
	// NoDailyBasic skips mapping daily_basic's rows; DailyBasic is then empty.
	NoDailyBasic bool
}

// FetchStock fetches one stock (a Tushare code such as 600000.SH) from start to end with
// two paged queries, the raw daily k data and the adjustment events since EarliestDate
// (unless opt says not), and maps them with DailyRows, DailyBasicRows and AdjFactorRows.
func (c *Client) FetchStock(ctx context.Context, tsCode string, start, end time.Time, opt FetchOptions) (*StockRange, error) {
	code, err := BaostockCode(tsCode)
	if err != nil {
		return nil, err
	}
	t, err := c.HistoryKData(ctx, KDataQuery{Code: code, Fields: DailyFields, Start: start, End: end, MaxRows: opt.MaxRows})
	if err != nil {
		return nil, err
	}
	var r StockRange
	if r.Daily, err = DailyRows(t); err != nil {
		return nil, err
	}
	if !opt.NoDailyBasic {
		if r.DailyBasic, err = DailyBasicRows(t); err != nil {
			return nil, err
		}
	}
	if len(t.Rows) == 0 || opt.NoAdjFactor {
		return &r, nil
	}
	events, err := c.AdjustFactor(ctx, code, EarliestDate(), end)
	if err != nil {
		return nil, err
	}
	dateCol := t.Col("date")
	days := make([]time.Time, 0, len(t.Rows))
	for _, row := range t.Rows {
		d, err := market.ParseDate(row[dateCol])
		if err != nil {
			return nil, fmt.Errorf("baostock k data %s: %w", tsCode, err)
		}
		days = append(days, d)
	}
	r.AdjFactor = AdjFactorRows(tsCode, events, days)
	return &r, nil
}

// StocksBetween lists the A shares (Tushare codes in order, IsAShare) listed at some point from
// start to end, delisted ones included, from one query_stock_basic of every security.
func (c *Client) StocksBetween(ctx context.Context, start, end time.Time) ([]string, error) {
	listings, err := c.ListingsBetween(ctx, start, end)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(listings))
	for i, l := range listings {
		out[i] = l.TSCode
	}
	return out, nil
}

// ListingsBetween is StocksBetween with each stock's listing and delisting dates.
func (c *Client) ListingsBetween(ctx context.Context, start, end time.Time) ([]market.Listing, error) {
	all, err := c.StockBasic(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []market.Listing
	for _, s := range all {
		if s.Type != "1" || !IsAShare(s.Code) || s.IPODate.IsZero() || s.IPODate.After(end) ||
			!s.OutDate.IsZero() && s.OutDate.Before(start) {
			continue
		}
		ts, err := TSCode(s.Code)
		if err != nil {
			return nil, err
		}
		out = append(out, market.Listing{TSCode: ts, ListDate: s.IPODate, DelistDate: s.OutDate})
	}
	slices.SortFunc(out, func(a, b market.Listing) int { return strings.Compare(a.TSCode, b.TSCode) })
	return out, nil
}

// Universe lists the A shares (Tushare codes, in order) quoted on day d, suspended ones
// included, from query_all_stock.
func (c *Client) Universe(ctx context.Context, d time.Time) ([]string, error) {
	all, err := c.AllStock(ctx, d)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range all {
		if !IsAShare(s.Code) {
			continue
		}
		ts, err := TSCode(s.Code)
		if err != nil {
			return nil, err
		}
		out = append(out, ts)
	}
	slices.Sort(out)
	return out, nil
}
