package tusharetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/source/demo"
)

var shared = sync.OnceValues(func() (*demo.Source, error) {
	cal, err := calendar.New()
	if err != nil {
		return nil, err
	}
	published := cal.Last().AddDate(0, 0, 1)
	return demo.New(cal, demo.Config{Now: func() time.Time { return published }}), nil
})

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	m, err := shared()
	require.NoError(t, err)
	cfg.Market = m
	return New(t, &cfg)
}

// post sends one call as Tushare's client does and returns the raw body.
func post(t *testing.T, s *Server, body map[string]any) string {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(s.URL, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(raw)
}

type answer struct {
	RequestID string `json:"request_id"`
	Code      int    `json:"code"`
	Data      struct {
		Fields  []string `json:"fields"`
		Items   [][]any  `json:"items"`
		HasMore *bool    `json:"has_more"`
	} `json:"data"`
}

func decode(t *testing.T, raw string) answer {
	t.Helper()
	var a answer
	require.NoError(t, json.Unmarshal([]byte(raw), &a), raw)
	return a
}

func TestWireFormat(t *testing.T) {
	t.Parallel()
	clock := NewClock(time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC))
	s := start(t, Config{Limits: map[string]int{"daily": 2}, Now: clock.Now})
	call := func(api string, params map[string]any, fields string) string {
		return post(t, s, map[string]any{"api_name": api, "token": s.Token, "params": params, "fields": fields})
	}

	a := decode(t, call("daily", map[string]any{"trade_date": "20240701", "limit": 10, "offset": 5}, "close, ts_code"))
	require.Zero(t, a.Code)
	require.NotEmpty(t, a.RequestID)
	require.Equal(t, []string{"close", "ts_code"}, a.Data.Fields)
	require.Len(t, a.Data.Items, 10)
	require.True(t, *a.Data.HasMore)

	raw := post(t, s, map[string]any{"api_name": "daily", "token": "nope", "params": map[string]any{}})
	require.JSONEq(t, `{"code":40101,"msg":"您的token不对，请确认。","data":null}`, raw)

	// Two calls a minute: the third within the minute is refused, with Tushare's words.
	call("daily", map[string]any{"trade_date": "20240701"}, "")
	raw = call("daily", map[string]any{"trade_date": "20240701"}, "")
	require.JSONEq(t, `{"code":40203,"msg":"抱歉，您每分钟最多访问该接口2次，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。","data":null}`, raw)
	clock.Advance(time.Minute)
	a = decode(t, call("daily", map[string]any{"trade_date": "20240701"}, ""))
	require.Len(t, a.Data.Fields, 11, "no fields asked: all of daily's")
	require.Less(t, len(a.Data.Items), 6000)
	require.False(t, *a.Data.HasMore)
	require.Equal(t, Stats{Calls: 4, Served: 3, Refused: 1, BadToken: 1}, s.Stats("daily"))

	a = decode(t, call("stock_basic", map[string]any{"list_status": "D"}, "ts_code,list_status,delist_date"))
	require.NotEmpty(t, a.Data.Items)
	for _, it := range a.Data.Items {
		require.Equal(t, "D", it[1])
		require.Regexp(t, `^\d{8}$`, it[2])
	}
	a = decode(t, call("stock_basic", map[string]any{}, ""))
	require.NotContains(t, a.Data.Fields, "list_status", "not a default field")

	a = decode(t, call("trade_cal", map[string]any{"exchange": "SSE", "start_date": "20251001", "end_date": "20251010"}, ""))
	require.Equal(t, []string{"exchange", "cal_date", "is_open", "pretrade_date"}, a.Data.Fields)
	require.Len(t, a.Data.Items, 10)
	require.Equal(t, []any{"SSE", "20251010", 1.0, "20251009"}, a.Data.Items[0], "newest first")
	require.Equal(t, []any{"SSE", "20251001", 0.0, nil}, a.Data.Items[9])
}

func TestInjectedFaults(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Cap: 100})
	s.Inject("daily", FaultPermission, 1)
	s.Inject("daily", FaultShuffledFields, 1)
	s.Inject("daily", FaultNoHasMore, 1)
	params := map[string]any{"trade_date": "20240701"}
	call := func() string {
		return post(t, s, map[string]any{"api_name": "daily", "token": s.Token, "params": params, "fields": "ts_code,trade_date,close"})
	}
	require.JSONEq(t, `{"code":40203,"msg":"抱歉，您没有访问该接口的权限，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。","data":null}`, call())
	a := decode(t, call())
	require.Equal(t, []string{"close", "update_flag", "trade_date", "ts_code"}, a.Data.Fields)
	require.Len(t, a.Data.Items, 100, "the cap")
	a = decode(t, call())
	require.Nil(t, a.Data.HasMore)
	a = decode(t, call())
	require.True(t, *a.Data.HasMore, "faults are used up")
}

// TestCacheAnswersAsComputed: a cached fake answers a warmed call, and a call asked
// again, exactly as an uncached one does, with a request_id of its own each time.
func TestCacheAnswersAsComputed(t *testing.T) {
	t.Parallel()
	plain := start(t, Config{})
	cached := start(t, Config{Cache: true})
	params := map[string]any{"trade_date": "20240702", "limit": 6000, "offset": 0}
	require.NoError(t, cached.Warm(context.Background(), "daily", params, "ts_code,trade_date,close"))
	body := map[string]any{"api_name": "daily", "token": DefaultToken, "params": params, "fields": "ts_code,trade_date,close"}
	want := decode(t, post(t, plain, body))
	ids := map[string]bool{}
	for range 2 {
		got := decode(t, post(t, cached, body))
		ids[got.RequestID] = true
		got.RequestID = want.RequestID
		require.Equal(t, want, got)
	}
	require.Len(t, ids, 2, "each answer has its own request_id")
	require.Equal(t, Stats{Calls: 2, Served: 2}, cached.Stats("daily"))
}
