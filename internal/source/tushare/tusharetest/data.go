package tusharetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/marketsync/marketsync/internal/market"
)

// result is a whole listing before fields and paging: every field of the api and its
// rows in JSON form (dates as YYYYMMDD strings, NULL as nil).
type result struct {
	fields   []string
	defaults []string // the fields answered when the call names none
	rows     [][]any
}

// serveData answers c with its page of data, shaped by the modifier fault f (if any).
func (s *Server) serveData(ctx context.Context, w http.ResponseWriter, c call, f Fault) {
	rest, err := s.answer(ctx, c, f)
	if err != nil {
		s.writeError(w, -2001, err.Error())
		return
	}
	s.mu.Lock()
	s.stat(c.APIName).Served++
	s.mu.Unlock()
	b := appendValue(append(make([]byte, 0, len(rest)+48), `{"request_id":`...), s.requestID())
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, rest...))
}

// Warm computes the answer to a call of api with params and fields (as a client sends
// them, paging parameters included) and keeps it, when Config.Cache is set: the call then
// costs the fake next to nothing.
func (s *Server) Warm(ctx context.Context, api string, params map[string]any, fields string) error {
	_, err := s.answer(ctx, call{APIName: api, Params: params, Fields: fields}, 0)
	return err
}

// answer is the JSON of c's successful answer after its request_id; with Config.Cache,
// answers without a fault are kept by call.
func (s *Server) answer(ctx context.Context, c call, f Fault) ([]byte, error) {
	if !s.cfg.Cache || f != 0 {
		return s.compute(ctx, c, f)
	}
	p, err := json.Marshal(c.Params) // map keys sorted: one text per set of params
	if err != nil {
		return nil, err
	}
	key := c.APIName + "\x00" + string(p) + "\x00" + c.Fields
	s.mu.Lock()
	b, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return b, nil
	}
	if b, err = s.compute(ctx, c, f); err == nil {
		s.mu.Lock()
		s.cache[key] = b
		s.mu.Unlock()
	}
	return b, err
}

// compute builds the JSON of c's answer after its request_id.
func (s *Server) compute(ctx context.Context, c call, f Fault) ([]byte, error) {
	res, err := s.result(ctx, c)
	if err != nil {
		return nil, err
	}
	fields := pick(res, c.Fields)
	offset, err1 := intParam(c.Params, "offset", 0)
	limit, err2 := intParam(c.Params, "limit", s.cfg.Cap)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if f == FaultIgnoreOffset {
		offset = 0
	}
	if limit <= 0 || limit > s.cfg.Cap {
		limit = s.cfg.Cap
	}
	rows := res.rows[min(max(offset, 0), len(res.rows)):]
	rows = rows[:min(limit, len(rows))]
	idx := make([]int, len(fields))
	for i, name := range fields {
		idx[i] = slices.Index(res.fields, name)
	}
	if f == FaultShuffledFields { // reversed, with an extra field second
		slices.Reverse(fields)
		slices.Reverse(idx)
		fields = slices.Insert(fields, 1, "update_flag")
		idx = slices.Insert(idx, 1, -1)
	}
	var more *bool
	if f != FaultNoHasMore {
		m := offset+len(rows) < len(res.rows)
		more = &m
	}
	return appendPage(nil, fields, rows, idx, more), nil
}

// appendPage appends the JSON of a successful answer after its request_id:
// encoding/json's bytes, written by hand (a page of daily_basic is 6,000 rows; reflection
// on them cost the benchmarks more than the client did). An index below zero is a field
// the api lacks, answered "0".
func appendPage(b []byte, fields []string, rows [][]any, idx []int, more *bool) []byte {
	b = append(b, `,"code":0,"msg":"","data":{"fields":[`...)
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendValue(b, f)
	}
	b = append(b, `],"items":[`...)
	for k, row := range rows {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for i, j := range idx {
			if i > 0 {
				b = append(b, ',')
			}
			if j < 0 {
				b = append(b, `"0"`...)
			} else {
				b = appendValue(b, row[j])
			}
		}
		b = append(b, ']')
	}
	b = append(b, ']')
	if more != nil {
		b = strconv.AppendBool(append(b, `,"has_more":`...), *more)
	}
	return append(b, "}}"...)
}

// appendValue appends v as encoding/json would.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case float64:
		if !math.IsInf(x, 0) && !math.IsNaN(x) && (x == 0 || (math.Abs(x) >= 1e-6 && math.Abs(x) < 1e21)) {
			return strconv.AppendFloat(b, x, 'f', -1, 64)
		}
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case string:
		plain := true
		for i := 0; i < len(x) && plain; i++ {
			c := x[i]
			plain = c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
		}
		if plain {
			return append(append(append(b, '"'), x...), '"')
		}
	}
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}

// pick returns the fields a call asked for that the api has, in the asked order; none
// asked means the api's defaults.
func pick(res *result, asked string) []string {
	var out []string
	for f := range strings.SplitSeq(asked, ",") {
		if f = strings.TrimSpace(f); slices.Contains(res.fields, f) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return slices.Clone(res.defaults)
	}
	return out
}

// result computes the listing a call asks for.
func (s *Server) result(ctx context.Context, c call) (*result, error) {
	switch c.APIName {
	case "daily", "adj_factor", "daily_basic":
		return s.dayResult(ctx, c)
	case "stock_basic":
		return s.stockResult(ctx, c)
	case "trade_cal":
		return s.calendarResult(ctx, c)
	}
	return nil, fmt.Errorf("接口名 %q 不存在", c.APIName)
}

// dayResult is a day of the demo market's dataset; trade_date is required, ts_code
// (a comma list) optional.
func (s *Server) dayResult(ctx context.Context, c call) (*result, error) {
	ds, err := market.LookupDataset(c.APIName)
	if err != nil {
		return nil, err
	}
	day, ok, err := dateParam(c.Params, "trade_date")
	if err != nil || !ok {
		return nil, fmt.Errorf("参数错误: trade_date 必填 (YYYYMMDD)")
	}
	res := &result{fields: ds.ColumnNames(), defaults: ds.ColumnNames()}
	rows, err := s.cfg.Market.Fetch(ctx, ds, day)
	if errors.Is(err, market.ErrOutsideCalendar) {
		return res, nil // no data that day
	}
	if err != nil {
		return nil, err
	}
	codes := strings.Split(str(c.Params["ts_code"]), ",")
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return nil, err
		}
		if codes[0] != "" && !slices.Contains(codes, v[0].(string)) {
			continue
		}
		res.rows = append(res.rows, jsonRow(v))
	}
	return res, rows.Err()
}

// stockResult is the demo market's stock list with one list_status (default L),
// optionally of one exchange.
func (s *Server) stockResult(ctx context.Context, c call) (*result, error) {
	cols := market.StockBasic().ColumnNames()
	res := &result{fields: cols, defaults: []string{"ts_code", "symbol", "name", "area", "industry",
		"cnspell", "market", "list_date", "act_name", "act_ent_type"}}
	status := str(c.Params["list_status"])
	if status == "" {
		status = "L"
	}
	exchange := str(c.Params["exchange"])
	rows, err := s.cfg.Market.StockBasic(ctx)
	if err != nil {
		return nil, err
	}
	iStatus, iExchange := slices.Index(cols, "list_status"), slices.Index(cols, "exchange")
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return nil, err
		}
		if v[iStatus] == status && (exchange == "" || v[iExchange] == exchange) {
			res.rows = append(res.rows, jsonRow(v))
		}
	}
	return res, rows.Err()
}

// calendarResult is trade_cal from start_date to end_date (default the calendar's data),
// newest first as Tushare answers; every exchange shares the calendar.
func (s *Server) calendarResult(ctx context.Context, c call) (*result, error) {
	res := &result{fields: []string{"exchange", "cal_date", "is_open", "pretrade_date"}}
	res.defaults = res.fields
	exchange := str(c.Params["exchange"])
	if exchange == "" {
		exchange = "SSE"
	}
	if !slices.Contains([]string{"SSE", "SZSE", "BSE"}, exchange) {
		return res, nil
	}
	first := time.Date(1991, 1, 1, 0, 0, 0, 0, time.UTC)
	start, ok, err1 := dateParam(c.Params, "start_date")
	if !ok || start.Before(first) {
		start = first
	}
	end, ok, err2 := dateParam(c.Params, "end_date")
	if !ok || end.After(first.AddDate(110, 0, 0)) {
		end = time.Date(time.Now().Year(), 12, 31, 0, 0, 0, 0, time.UTC)
	}
	if err := errors.Join(err1, err2); err != nil || end.Before(start) {
		return res, err
	}
	days, err := s.cfg.Market.TradeCalendar(ctx, start, end)
	if err != nil {
		return nil, err
	}
	var pre any // the previous trading day, unknown before the first
	for _, d := range days {
		open := 0
		if d.Open {
			open = 1
		}
		res.rows = append(res.rows, []any{exchange, d.Date.Format("20060102"), open, pre})
		if d.Open {
			pre = d.Date.Format("20060102")
		}
	}
	slices.Reverse(res.rows)
	return res, nil
}

// jsonRow copies a demo row into JSON form.
func jsonRow(v []any) []any {
	out := make([]any, len(v))
	for i, x := range v {
		if d, ok := x.(time.Time); ok {
			out[i] = d.Format("20060102")
		} else {
			out[i] = x
		}
	}
	return out
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	}
	return ""
}

// intParam reads an integer parameter, a JSON number or a string of one.
func intParam(p map[string]any, key string, def int) (int, error) {
	s := str(p[key])
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("参数错误: %s=%q", key, s)
	}
	return n, nil
}

// dateParam reads a YYYYMMDD parameter; ok is false when it is absent.
func dateParam(p map[string]any, key string) (d time.Time, ok bool, err error) {
	s := str(p[key])
	if s == "" {
		return time.Time{}, false, nil
	}
	d, err = time.Parse("20060102", s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("参数错误: %s=%q", key, s)
	}
	return d, true, nil
}
