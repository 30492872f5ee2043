package baostock

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pinyin"
)

// Source is Baostock as a marketsync source. It is a range source: the engine fetches
// each stock of a batch once over the batch's range (FetchRange) into staging, then loads
// the days from there; asking it for one day of the market (Fetch) would take a call per
// stock, and is refused. It also knows the exchanges' calendar and the stock list.
type Source struct {
	c *Client
}

// NewSource returns the source over a client built from cfg (nil for the defaults).
func NewSource(cfg *Config) *Source { return &Source{c: New(cfg)} }

// Name is "baostock".
func (s *Source) Name() string { return "baostock" }

// Datasets are the datasets Baostock's k data and factors fill.
func (s *Source) Datasets() []string { return []string{"daily", "adj_factor", "daily_basic"} }

// Notes says what Baostock lacks: the Beijing exchange.
func (s *Source) Notes() []string { return []string{"note.baostock_no_bj"} }

// ErrRangeOnly is Fetch's answer: Baostock is fetched per stock over a range.
var ErrRangeOnly = errors.New("baostock answers one stock over a range, not the market's day: its batches fetch each stock once into staging")

// Fetch refuses: see ErrRangeOnly.
func (s *Source) Fetch(context.Context, market.Dataset, time.Time) (market.Rows, error) {
	return nil, ErrRangeOnly
}

// Listings lists the A shares listed at some point from start to end, with their
// listing dates.
func (s *Source) Listings(ctx context.Context, start, end time.Time) ([]market.Listing, error) {
	return s.c.ListingsBetween(ctx, start, end)
}

// FetchRange fetches one stock over req's range: one k-data call when the stock's rows
// fill req.MaxRows, and the adjustment events only when adj_factor is wanted.
func (s *Source) FetchRange(ctx context.Context, req market.RangeRequest) (map[string][][]any, error) {
	r, err := s.c.FetchStock(ctx, req.TSCode, req.Start, req.End, FetchOptions{
		MaxRows: req.MaxRows, NoAdjFactor: !slices.Contains(req.Datasets, "adj_factor"),
		NoDailyBasic: !slices.Contains(req.Datasets, "daily_basic")})
	if err != nil {
		return nil, err
	}
	out := make(map[string][][]any, len(req.Datasets))
	for name, rows := range r.ByDataset() {
		if slices.Contains(req.Datasets, name) {
			out[name] = rows
		}
	}
	return out, nil
}

// TradeCalendar returns the exchanges' calendar from start to end (query_trade_dates).
func (s *Source) TradeCalendar(ctx context.Context, start, end time.Time) ([]market.CalendarDay, error) {
	dates, err := s.c.TradeDates(ctx, start, end)
	if err != nil {
		return nil, err
	}
	out := make([]market.CalendarDay, len(dates))
	for i, d := range dates {
		out[i] = market.CalendarDay{Date: d.Date, Open: d.Trading}
	}
	return out, nil
}

// StockBasic returns stock_basic from Baostock's listing records: the A shares' codes,
// names, exchanges, listing status and dates (Baostock has no other column of it), and
// the names' pinyin initials (cnspell) worked out here.
func (s *Source) StockBasic(ctx context.Context) (market.Rows, error) {
	all, err := s.c.StockBasic(ctx, "")
	if err != nil {
		return nil, err
	}
	cols := market.StockBasic().ColumnNames()
	at := func(name string) int { return slices.Index(cols, name) }
	var rows [][]any
	for _, st := range all {
		if st.Type != "1" || !IsAShare(st.Code) {
			continue
		}
		ts, err := TSCode(st.Code)
		if err != nil {
			return nil, err
		}
		row := make([]any, len(cols))
		row[at("ts_code")], row[at("symbol")], row[at("name")] = ts, ts[:6], st.Name
		row[at("cnspell")] = pinyin.Initials(st.Name) // Baostock has none: search by initials needs it
		row[at("exchange")] = map[string]string{"SH": "SSE", "SZ": "SZSE", "BJ": "BSE"}[ts[7:]]
		row[at("list_status")] = "L"
		if !st.Listed {
			row[at("list_status")] = "D"
		}
		if !st.IPODate.IsZero() {
			row[at("list_date")] = st.IPODate
		}
		if !st.OutDate.IsZero() {
			row[at("delist_date")] = st.OutDate
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
	if len(rows) == 0 {
		return nil, fmt.Errorf("baostock query_stock_basic: %w: no A share listed", market.ErrNoData)
	}
	return market.NewRowSlice(rows), nil
}

// Close drops the connection.
func (s *Source) Close() error { return s.c.Close() }
