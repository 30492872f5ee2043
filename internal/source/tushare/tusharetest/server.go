// Package tusharetest is a fake Tushare Pro for tests and benchmarks: an httptest server
// speaking Tushare's protocol (POST {api_name, token, params, fields}; HTTP 200 with
// {request_id, code, msg, data: {fields, items, has_more}}), serving the demo market for
// daily, adj_factor, daily_basic, stock_basic and trade_cal. It enforces a token, a cap of
// rows per call with limit/offset paging, per-api limits in a strict sliding window
// answered with Tushare's per-minute 40203, a latency per call, and injected faults; and
// it counts calls and refusals per api.
package tusharetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/source/demo"
)

// DefaultToken is the token the fake accepts unless Config.Token says otherwise.
const DefaultToken = "tusharetest-token-0123456789abcdef"

// Config sets up a fake. The zero value serves a fresh demo market with the default
// token, Tushare's 6000-row cap, no limits and no latency.
type Config struct {
	// Token is the only token accepted (default DefaultToken); others get code 40101.
	Token string
	// Market is the demo market served. Building one costs a cold walk of its prices on
	// first use: tests share one. Default: a new market, every day published.
	Market *demo.Source
	// Cap is the most rows one call returns (default 6000).
	Cap int
	// Limits are calls per Window per api (none when missing). A call beyond is refused
	// with the per-minute 40203; refused calls do not count in the window.
	Limits map[string]int
	// Window is the span Limits count over (default one minute).
	Window time.Duration
	// Latency delays every answer.
	Latency time.Duration
	// SlowDelay is how long a FaultSlow answer takes (default one minute).
	SlowDelay time.Duration
	// Now is the clock of the limits' window (default time.Now).
	Now func() time.Time
	// Cache keeps every answer without a fault by call (api, params, fields), so that a
	// call asked again, or warmed with Warm, costs the fake next to nothing: benchmarks
	// warm their calls before timing, leaving the CPU to the client under test.
	Cache bool
}

// Stats counts one api's calls.
type Stats struct {
	// Calls counts every call of the api that carried the right token.
	Calls int
	// Served counts the calls answered with data.
	Served int
	// Refused counts the per-minute 40203 answers, injected ones included.
	Refused int
	// BadToken counts the calls refused with 40101 for a wrong token.
	BadToken int
}

// Server is a running fake Tushare. Its methods are safe for concurrent use.
type Server struct {
	// URL is the endpoint to POST to.
	URL string
	// Token is the token it accepts.
	Token string

	cfg  Config
	http *httptest.Server

	mu     sync.Mutex
	stats  map[string]*Stats
	window map[string][]time.Time // per api: times of the calls the window counts
	faults map[string][]*fault
	cache  map[string][]byte // by call, with Config.Cache
	nextID uint64
}

// Start runs a fake with cfg (nil for the defaults); Close stops it.
func Start(cfg *Config) (*Server, error) {
	s := &Server{stats: make(map[string]*Stats), window: make(map[string][]time.Time), faults: make(map[string][]*fault),
		cache: make(map[string][]byte)}
	if cfg != nil {
		s.cfg = *cfg
	}
	if s.cfg.Token == "" {
		s.cfg.Token = DefaultToken
	}
	if s.cfg.Cap <= 0 {
		s.cfg.Cap = 6000
	}
	if s.cfg.Window <= 0 {
		s.cfg.Window = time.Minute
	}
	if s.cfg.SlowDelay <= 0 {
		s.cfg.SlowDelay = time.Minute
	}
	if s.cfg.Now == nil {
		s.cfg.Now = time.Now
	}
	if s.cfg.Market == nil {
		cal, err := calendar.New()
		if err != nil {
			return nil, err
		}
		published := cal.Last().AddDate(0, 0, 1)
		s.cfg.Market = demo.New(cal, demo.Config{Now: func() time.Time { return published }})
	}
	s.Token = s.cfg.Token
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.http.URL
	return s, nil
}

// New starts a fake for a test or benchmark and stops it when tb ends.
func New(tb testing.TB, cfg *Config) *Server {
	tb.Helper()
	s, err := Start(cfg)
	if err != nil {
		tb.Fatalf("tusharetest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server, ending calls in flight.
func (s *Server) Close() {
	s.http.CloseClientConnections()
	s.http.Close()
}

// Stats returns the counts of api so far.
func (s *Server) Stats(api string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.stats[api]; st != nil {
		return *st
	}
	return Stats{}
}

// call is one decoded request.
type call struct {
	APIName string         `json:"api_name"`
	Token   string         `json:"token"`
	Params  map[string]any `json:"params"`
	Fields  string         `json:"fields"`
}

// serveHTTP answers one call: token, injected fault, rate window, latency, then data.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var c call
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		s.writeError(w, -2001, "请求参数格式错误")
		return
	}
	if c.APIName == "" && len(r.URL.Path) > 1 { // the variant that posts to <base>/<api_name>
		c.APIName = r.URL.Path[1:]
	}
	if c.Token != s.cfg.Token {
		s.mu.Lock()
		s.stat(c.APIName).BadToken++
		s.mu.Unlock()
		s.writeError(w, 40101, "您的token不对，请确认。")
		return
	}
	f := s.admit(c.APIName)
	if f != nil && f.kind.refusal() {
		s.refuse(w, c, f.kind)
		return
	}
	if n, over := s.overLimit(c.APIName); over {
		s.writeError(w, 40203, perMinuteMsg(n))
		return
	}
	delay := s.cfg.Latency
	if f != nil && f.kind == FaultSlow {
		delay += s.cfg.SlowDelay
	}
	if !wait(r.Context(), delay) {
		return
	}
	var kind Fault
	if f != nil {
		kind = f.kind
	}
	s.serveData(r.Context(), w, c, kind)
}

// admit counts a call with a good token and takes the api's next injected fault.
func (s *Server) admit(api string) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stat(api).Calls++
	q := s.faults[api]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	if f.left > 0 {
		f.left--
		if f.left == 0 {
			s.faults[api] = q[1:]
		}
	}
	if f.kind == FaultPerMinute {
		s.stat(api).Refused++
	}
	return f
}

// overLimit reports whether a call of api now exceeds its limit in the sliding window,
// counting the call in the window when it does not.
func (s *Server) overLimit(api string) (limit int, over bool) {
	limit = s.cfg.Limits[api]
	if limit <= 0 {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	times := s.window[api]
	i := 0
	for i < len(times) && !times[i].After(now.Add(-s.cfg.Window)) {
		i++
	}
	times = times[i:]
	if len(times) >= limit {
		s.window[api] = times
		s.stat(api).Refused++
		return limit, true
	}
	s.window[api] = append(times, now)
	return limit, false
}

func (s *Server) stat(api string) *Stats {
	st := s.stats[api]
	if st == nil {
		st = &Stats{}
		s.stats[api] = st
	}
	return st
}

// wait sleeps d unless ctx ends first; it reports whether the time passed.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// errorBody is Tushare's answer to a refused call.
type errorBody struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
	Data any    `json:"data"`
}

func (s *Server) writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, errorBody{Code: code, Msg: msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// requestID numbers the answers, like Tushare's request_id.
func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	return fmt.Sprintf("tusharetest-%08d", s.nextID)
}
