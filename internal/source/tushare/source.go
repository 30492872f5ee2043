// Package tushare is marketsync's source for Tushare Pro (tushare.pro): an HTTP + JSON
// client for the daily, adj_factor, daily_basic, stock_basic and trade_cal apis. A call
// POSTs {api_name, token, params, fields} to the endpoint and reads data.fields and
// data.items, mapping values by field name. A whole trading day is fetched, every page
// of it, before Fetch returns, so no database transaction waits on the network.
//
// Calls go through a Limiter shared by every process (store.RateLimiter), and a
// per-minute refusal is waited out rather than reported. Refusals that waiting cannot
// cure wrap market's domain errors: ErrSourceRefused (the token), ErrQuotaExhausted
// (hourly or daily quota), ErrDatasetRefused (no permission). Everything else (HTTP
// errors, timeouts, malformed answers, other codes) is a plain error worth retrying. The
// token never appears in an error, a log line or the Config's printed form.
package tushare

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// Limiter spaces calls so that all processes together keep to an upstream's limit;
// store.RateLimiter implements it in PostgreSQL. Await blocks until one call of key may
// be made under perMinute calls a minute (no limit when perMinute ≤ 0), and says how
// long it waited, or returns ctx.Err().
type Limiter interface {
	Await(ctx context.Context, key string, perMinute int) (time.Duration, error)
}

// Source reads Tushare Pro. It is safe for concurrent use; build it with New.
type Source struct {
	cfg Config
	lim Limiter
}

// New returns a Source calling Tushare with cfg, every call first cleared by lim (nil:
// no limiting, for tests and one-off tools). cfg must carry a token.
func New(lim Limiter, cfg *Config) (*Source, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &Source{cfg: cfg.withDefaults(), lim: lim}, nil
}

// Name is the source's name, recorded with every day it loads.
func (s *Source) Name() string { return "tushare" }

// Datasets returns the names of the per-day datasets Fetch serves.
func (s *Source) Datasets() []string { return []string{"daily", "adj_factor", "daily_basic"} }

// Pace is the least time one day of dataset takes under its api's limit: one call (a
// day of the market fits in one page) at the rate the limiter allows. The engine's ETA
// never promises faster.
func (s *Source) Pace(dataset string) time.Duration {
	n := s.limit(dataset)
	if n <= 0 {
		return 0
	}
	return time.Minute / time.Duration(n)
}

// Fetch returns every row of dataset ds on trading day day (its calendar date, whatever
// its zone), in ds.Columns order, all pages of it fetched before it returns; the rows'
// Len says how many there are. A non-trading day or a day not published yet has no rows.
// A dataset Tushare is not asked for here is an error wrapping market.ErrUnknownDataset.
func (s *Source) Fetch(ctx context.Context, ds market.Dataset, day time.Time) (market.Rows, error) {
	if !slices.Contains(s.Datasets(), ds.Name) || ds.DateColumn == "" {
		return nil, fmt.Errorf("tushare source: %w %q (serves %v)", market.ErrUnknownDataset, ds.Name, s.Datasets())
	}
	y, m, d := day.Date()
	day = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	rows, err := s.list(ctx, query{api: ds.Name, params: map[string]any{"trade_date": day.Format("20060102")},
		cols: ds.Columns, required: len(ds.Columns)})
	if err != nil {
		return nil, fmt.Errorf("fetching %s %s: %w", ds.Name, day.Format(market.DateLayout), err)
	}
	col := slices.Index(ds.ColumnNames(), ds.DateColumn)
	for _, r := range rows {
		if d, ok := r[col].(time.Time); !ok || !d.Equal(day) {
			return nil, fmt.Errorf("fetching %s %s: tushare answered a row of %v", ds.Name, day.Format(market.DateLayout), r[col])
		}
	}
	return market.NewRowSlice(rows), nil
}

// StockBasic returns stock_basic for every stock, listed (L), delisted (D) or suspended
// from listing (P): one listing per status, merged in code order, in
// market.StockBasic's column order.
func (s *Source) StockBasic(ctx context.Context) (market.Rows, error) {
	ds := market.StockBasic()
	byCode := make(map[string][]any)
	for _, status := range market.ListStatuses() {
		// Only ts_code is required: a descriptive field Tushare leaves out is stored NULL.
		rows, err := s.list(ctx, query{api: "stock_basic", params: map[string]any{"list_status": status},
			cols: ds.Columns, required: 1})
		if err != nil {
			return nil, fmt.Errorf("listing stocks (%s): %w", status, err)
		}
		for _, r := range rows {
			code, _ := r[0].(string)
			if _, dup := byCode[code]; !dup && code != "" {
				byCode[code] = r
			}
		}
	}
	out := make([][]any, 0, len(byCode))
	for _, code := range slices.Sorted(maps.Keys(byCode)) {
		out = append(out, byCode[code])
	}
	return market.NewRowSlice(out), nil
}

// calendarColumns are what TradeCalendar reads of trade_cal.
func calendarColumns() []market.Column {
	return []market.Column{{Name: "cal_date", Type: market.Date}, {Name: "is_open", Type: market.Text}}
}

// TradeCalendar returns the Shanghai exchange's calendar (trade_cal, exchange SSE) from
// start to end, in date order: every date Tushare has, open or not. Dates Tushare has no
// data for yet (past its published year) are missing at the end; a gap inside is an
// error.
func (s *Source) TradeCalendar(ctx context.Context, start, end time.Time) ([]market.CalendarDay, error) {
	cols := calendarColumns()
	rows, err := s.list(ctx, query{api: "trade_cal", cols: cols, required: len(cols), params: map[string]any{
		"exchange": "SSE", "start_date": start.Format("20060102"), "end_date": end.Format("20060102"),
	}})
	if err != nil {
		return nil, fmt.Errorf("reading the trade calendar: %w", err)
	}
	days := make([]market.CalendarDay, 0, len(rows))
	for _, r := range rows {
		d, ok := r[0].(time.Time)
		if !ok {
			return nil, fmt.Errorf("reading the trade calendar: a row without cal_date")
		}
		days = append(days, market.CalendarDay{Date: d, Open: r[1] == "1" || r[1] == "true"})
	}
	slices.SortFunc(days, func(a, b market.CalendarDay) int { return a.Date.Compare(b.Date) })
	days = slices.CompactFunc(days, func(a, b market.CalendarDay) bool { return a.Date.Equal(b.Date) })
	for i := 1; i < len(days); i++ {
		if !days[i].Date.Equal(days[i-1].Date.AddDate(0, 0, 1)) {
			return nil, fmt.Errorf("reading the trade calendar: tushare skipped the dates after %s",
				days[i-1].Date.Format(market.DateLayout))
		}
	}
	return days, nil
}

// query is one listing: an api, its parameters, and the columns asked for by name, the
// first required of which the answer must have (the others are NULL when it has not).
type query struct {
	api      string
	params   map[string]any
	cols     []market.Column
	required int
}

// list reads every page of q, returning rows in q.cols order. It pages with
// limit/offset while a page comes back full or has_more is true, and stops with an error
// when a page repeats (a server ignoring offset), when has_more insists on an empty page,
// or after MaxPages.
func (s *Source) list(ctx context.Context, q query) ([][]any, error) {
	api := q.api
	size := cmp.Or(s.cfg.PageSizes[api], DefaultPageSize)
	names := make([]string, len(q.cols))
	for i, c := range q.cols {
		names[i] = c.Name
	}
	var rows [][]any
	seen := make(map[uint64]bool)
	for n := 0; ; n++ {
		if n == s.cfg.MaxPages {
			return nil, fmt.Errorf("tushare %s: more than %d pages of %d rows; stopping", api, n, size)
		}
		p := maps.Clone(q.params)
		p["limit"], p["offset"] = size, len(rows)
		pg, err := s.call(ctx, api, p, names)
		if err != nil {
			return nil, err
		}
		more := pg.hasMore != nil && *pg.hasMore
		if len(pg.items) == 0 {
			if more {
				return nil, fmt.Errorf("tushare %s: has_more is true on an empty page at offset %d", api, len(rows))
			}
			return rows, nil
		}
		if seen[pg.hash] {
			return nil, fmt.Errorf("tushare %s: the page at offset %d repeats an earlier one (the server ignores offset?)", api, len(rows))
		}
		seen[pg.hash] = true
		if rows, err = appendPage(rows, pg, q); err != nil {
			return nil, fmt.Errorf("tushare %s: %w", api, err)
		}
		if !more && len(pg.items) < size {
			return rows, nil
		}
	}
}

// appendPage converts pg's items into q.cols order, by field name, and appends them.
func appendPage(rows [][]any, pg *page, q query) ([][]any, error) {
	idx := make([]int, len(q.cols))
	for i, c := range q.cols {
		idx[i] = slices.Index(pg.fields, c.Name)
		if idx[i] < 0 && i < q.required {
			return nil, fmt.Errorf("the answer lacks field %s (fields: %v)", c.Name, pg.fields)
		}
	}
	for _, item := range pg.items {
		row := make([]any, len(q.cols))
		for i, c := range q.cols {
			if idx[i] < 0 {
				continue // an optional field the answer lacks: NULL
			}
			v, err := convert(item[idx[i]], c.Type)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", c.Name, err)
			}
			row[i] = v
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// convert turns a JSON value into a column's Go value: null into nil (SQL NULL),
// numbers into float64, YYYYMMDD strings into dates at midnight UTC, text into string.
// An empty string is NULL for dates and numbers.
func convert(v any, t market.ColumnType) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case market.Double:
		var s string
		switch x := v.(type) {
		case json.Number:
			s = string(x)
		case string:
			if x == "" {
				return nil, nil
			}
			s = x
		default:
			return nil, fmt.Errorf("%v is not a number", v)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	case market.Date:
		s, ok := v.(string)
		if n, isNum := v.(json.Number); isNum {
			s, ok = string(n), true
		}
		if !ok {
			return nil, fmt.Errorf("%v is not a date", v)
		}
		if s == "" {
			return nil, nil
		}
		d, err := time.Parse("20060102", s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a date in the form YYYYMMDD", s)
		}
		return d, nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return string(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return nil, fmt.Errorf("%v is not text", v)
}
