package tusharetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// dataBody and okBody are a successful answer.
type dataBody struct {
	Fields  []string `json:"fields"`
	Items   [][]any  `json:"items"`
	HasMore *bool    `json:"has_more,omitempty"`
}

type okBody struct {
	RequestID string   `json:"request_id"`
	Code      int      `json:"code"`
	Msg       string   `json:"msg"`
	Data      dataBody `json:"data"`
}

// result is a whole listing before fields and paging: every field of the api and its
// rows in JSON form (dates as YYYYMMDD strings, NULL as nil).
type result struct {
	fields   []string
	defaults []string // the fields answered when the call names none
	rows     [][]any
}

// serveData answers c with its page of data, shaped by the modifier fault f (if any).
func (s *Server) serveData(ctx context.Context, w http.ResponseWriter, c call, f Fault) {
	res, err := s.result(ctx, c)
	if err != nil {
		s.writeError(w, -2001, err.Error())
		return
	}
	fields := pick(res, c.Fields)
	offset, err1 := intParam(c.Params, "offset", 0)
	limit, err2 := intParam(c.Params, "limit", s.cfg.Cap)
	if err := errors.Join(err1, err2); err != nil {
		s.writeError(w, -2001, err.Error())
		return
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
	body := okBody{RequestID: s.requestID(), Data: dataBody{Fields: fields, Items: make([][]any, len(rows))}}
	for k, row := range rows {
		item := make([]any, len(idx))
		for i, j := range idx {
			if j < 0 {
				item[i] = "0"
			} else {
				item[i] = row[j]
			}
		}
		body.Data.Items[k] = item
	}
	if f != FaultNoHasMore {
		more := offset+len(rows) < len(res.rows)
		body.Data.HasMore = &more
	}
	s.mu.Lock()
	s.stat(c.APIName).Served++
	s.mu.Unlock()
	writeJSON(w, body)
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
