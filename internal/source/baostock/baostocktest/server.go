// Package baostocktest is a fake Baostock server for tests and benchmarks, built on the
// client's own frame code. It replays the captured replies byte for byte when it
// receives the captured requests, serves the demo market through the protocol (paging,
// compressed k data, the end marker on every reply), and misbehaves on demand: latency,
// dropped connections, garbage, stalls, lost sessions, error replies and the blacklist
// that parallel connections earn.
package baostocktest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/source/baostock"
	"github.com/marketsync/marketsync/internal/source/demo"

	"github.com/marketsync/marketsync/internal/market"
)

// ServerVersion is the version string of every reply, as the real server sends it.
const ServerVersion = "00.9.00"

// Config sets up a fake server. The zero value serves nothing but logins, logouts and
// empty pages.
type Config struct {
	// Market and Calendar, when set, are served: trade dates, the universe, stock
	// basics, daily k data and adjustment factors.
	Market   *demo.Source
	Calendar *calendar.Calendar
	// CaptureDir is a folder of captures (<call>/request.bin, response.bin): a request
	// equal to a request.bin is answered with its response.bin, byte for byte.
	CaptureDir string
	// Latency delays every reply.
	Latency time.Duration
	// BlacklistAfter > 0 blacklists a connection opened while BlacklistAfter others are
	// open: it answers every request with 10001011, as Baostock does to parallel clients.
	BlacklistAfter int
	// BlacklistAll makes that blacklist cover every connection, old and new, from the
	// moment it trips, as Baostock blacklists the IP.
	BlacklistAll bool
	// RecordRequests keeps every request frame received, for Requests.
	RecordRequests bool
	// Cache keeps every query's reply by request, so that a request asked again costs
	// the fake nothing: benchmarks ask each once before timing (at no latency, then
	// SetLatency), leaving the CPU to the client under test.
	Cache bool
}

// FaultKind is a way for the server to misbehave on one request.
type FaultKind int

// Fault kinds.
const (
	// DropMidFrame sends the first half of the reply, then closes the connection.
	DropMidFrame FaultKind = iota + 1
	// CloseBeforeReply closes the connection without sending a byte.
	CloseBeforeReply
	// Garbage sends bytes that are no frame and keeps the connection open.
	Garbage
	// Stall waits Fault.Delay before replying, or until the server closes if Delay is 0.
	Stall
	// NotLoggedIn answers 10001001 and forgets the connection's session.
	NotLoggedIn
	// ErrorReply answers a type-04 error with Fault.Code and Fault.Msg.
	ErrorReply
)

// Fault makes the server misbehave on the next request of type Type ("" for any request
// but a login or logout).
type Fault struct {
	Kind  FaultKind
	Type  string
	Code  string
	Msg   string
	Delay time.Duration
}

// Stats counts what the server saw.
type Stats struct {
	// Calls counts requests per message type ("00" logins, "95" k data, …).
	Calls map[string]int
	// Connections counts connections accepted; Open those open now; MaxOpen the most
	// open at once.
	Connections, Open, MaxOpen int
	// MaxInFlight is the most requests being answered at once, over all connections.
	MaxInFlight int
}

// Server is a fake Baostock server on 127.0.0.1. Build it with Start or New.
type Server struct {
	cfg      Config
	ln       net.Listener
	captures map[string][]byte // request frame → reply frame
	market   *marketData
	done     chan struct{}
	wg       sync.WaitGroup

	mu          sync.Mutex
	conns       map[net.Conn]*session
	faults      []Fault
	stats       Stats
	inFlight    int
	blacklisted bool
	requests    [][]byte
	cache       map[string][]byte // request frame → reply, with Config.Cache
	latency     atomic.Int64      // Config.Latency, or SetLatency's
}

// session is one connection's state.
type session struct {
	loggedIn    bool
	blacklisted bool
}

// Start listens on 127.0.0.1:0 and serves until Close.
func Start(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, done: make(chan struct{}), conns: make(map[net.Conn]*session), cache: make(map[string][]byte),
		stats: Stats{Calls: make(map[string]int)}}
	s.latency.Store(int64(cfg.Latency))
	if cfg.CaptureDir != "" {
		var err error
		if s.captures, err = loadCaptures(cfg.CaptureDir); err != nil {
			return nil, err
		}
	}
	if cfg.Market != nil {
		if cfg.Calendar == nil {
			return nil, errors.New("baostocktest: a Market needs its Calendar")
		}
		s.market = newMarketData(cfg.Market, cfg.Calendar)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("baostocktest: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// New is Start for a test or benchmark: it fails tb on error and closes the server when
// tb ends.
func New(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := Start(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// loadCaptures reads every <dir>/<call>/{request,response}.bin.
func loadCaptures(dir string) (map[string][]byte, error) {
	reqs, err := filepath.Glob(filepath.Join(dir, "*", "request.bin"))
	if err != nil || len(reqs) == 0 {
		return nil, fmt.Errorf("baostocktest: no captures in %s (%v)", dir, err)
	}
	out := make(map[string][]byte)
	for _, p := range reqs {
		req, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		resp, err := os.ReadFile(filepath.Join(filepath.Dir(p), "response.bin"))
		if err != nil {
			return nil, err
		}
		out[string(req)] = resp
	}
	return out, nil
}

// Addr is the host:port to give the client (baostock.Config.Addr).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening, closes every connection (ending stalls) and waits for the
// server's goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return nil
	default:
	}
	close(s.done)
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// Inject queues faults; each applies to one later request of its type.
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// ExpireSessions logs every connection out, as a server-side session expiry does: their
// next request other than a login is answered 10001001.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.conns {
		sess.loggedIn = false
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Calls = make(map[string]int, len(s.stats.Calls))
	for k, v := range s.stats.Calls {
		st.Calls[k] = v
	}
	return st
}

// Requests returns the request frames received so far, in order (Config.RecordRequests).
func (s *Server) Requests() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.requests...)
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			conn.Close()
			return
		default:
		}
		sess := &session{}
		if s.cfg.BlacklistAfter > 0 && len(s.conns) >= s.cfg.BlacklistAfter {
			sess.blacklisted = true
			s.blacklisted = s.blacklisted || s.cfg.BlacklistAll
		}
		s.conns[conn] = sess
		s.stats.Connections++
		s.stats.Open = len(s.conns)
		s.stats.MaxOpen = max(s.stats.MaxOpen, s.stats.Open)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(conn, sess)
	}
}

// serve answers one connection's requests in order until it closes.
func (s *Server) serve(conn net.Conn, sess *session) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.stats.Open = len(s.conns)
		s.mu.Unlock()
		conn.Close()
	}()
	rd := bufio.NewReader(conn)
	for {
		req, err := baostock.ReadRequest(rd, 1<<20)
		if err != nil {
			return // closed, or not a request: hang up as a server would
		}
		if !s.handle(conn, sess, req) {
			return
		}
	}
}

// handle answers one request; false means the connection is to be closed.
func (s *Server) handle(conn net.Conn, sess *session, req baostock.Message) bool {
	fault, reply := s.begin(sess, req)
	defer s.end()
	if !s.wait(time.Duration(s.latency.Load())) {
		return false
	}
	switch fault.Kind {
	case CloseBeforeReply:
		return false
	case Garbage:
		_, err := conn.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" + baostock.EndMarker))
		return err == nil
	case Stall:
		if fault.Delay <= 0 {
			<-s.done
			return false
		}
		if !s.wait(fault.Delay) {
			return false
		}
	case DropMidFrame:
		conn.Write(reply[:len(reply)/2])
		return false
	}
	_, err := conn.Write(reply)
	return err == nil
}

// wait sleeps d or until Close; it reports false on Close.
func (s *Server) wait(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-s.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.done:
		return false
	case <-t.C:
		return true
	}
}

// begin counts the request, takes the fault that applies to it, and builds the reply.
func (s *Server) begin(sess *session, req baostock.Message) (Fault, []byte) {
	raw, _ := baostock.EncodeRequest(req) // ReadRequest checked it: the same bytes
	s.mu.Lock()
	s.stats.Calls[req.Type]++
	s.inFlight++
	s.stats.MaxInFlight = max(s.stats.MaxInFlight, s.inFlight)
	if s.cfg.RecordRequests {
		s.requests = append(s.requests, raw)
	}
	var fault Fault
	for i, f := range s.faults {
		if f.Type == req.Type || f.Type == "" && req.Type != baostock.TypeLogin && req.Type != baostock.TypeLogout {
			fault = f
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			break
		}
	}
	blacklisted := sess.blacklisted || s.blacklisted
	if fault.Kind == NotLoggedIn {
		sess.loggedIn = false
	}
	loggedIn := sess.loggedIn
	s.mu.Unlock()

	var reply []byte
	switch {
	case blacklisted:
		reply = errorFrame(baostock.CodeBlacklisted, baostock.MsgBlacklisted)
	case fault.Kind == ErrorReply:
		reply = errorFrame(fault.Code, fault.Msg)
	case req.Type == baostock.TypeLogin:
		reply = s.login(req, raw)
		s.setLoggedIn(sess, true)
	case req.Type == baostock.TypeLogout:
		reply = frame(baostock.ReplyType(req.Type), "0", "success", "logout", field(req.Fields(), 1))
		s.setLoggedIn(sess, false)
	case !loggedIn:
		reply = errorFrame(baostock.CodeNotLoggedIn, "用户未登录")
	case s.captures[string(raw)] != nil:
		reply = s.captures[string(raw)]
	case s.cfg.Cache:
		reply = s.cached(req, string(raw))
	default:
		reply = s.query(req)
	}
	return fault, reply
}

// cached answers a query from the cache, computing and keeping the reply on first ask.
func (s *Server) cached(req baostock.Message, key string) []byte {
	s.mu.Lock()
	reply, ok := s.cache[key]
	s.mu.Unlock()
	if !ok {
		reply = s.query(req)
		s.mu.Lock()
		s.cache[key] = reply
		s.mu.Unlock()
	}
	return reply
}

// SetLatency changes the delay of every reply from now on: a benchmark warms the cache
// at full speed, then measures with the latency it means.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

func (s *Server) end() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

func (s *Server) setLoggedIn(sess *session, v bool) {
	s.mu.Lock()
	sess.loggedIn = v
	s.mu.Unlock()
}

func (s *Server) login(req baostock.Message, raw []byte) []byte {
	if r := s.captures[string(raw)]; r != nil {
		return r
	}
	now := time.Now().In(market.ExchangeZone)
	return frame(baostock.ReplyType(req.Type), "0", "success", "login", field(req.Fields(), 1),
		now.Format("20060102150405")+fmt.Sprintf("%03d", now.Nanosecond()/1e6))
}

// field is f[i], or "" past the end.
func field(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

// frame encodes a reply of type typ from its body fields.
func frame(typ string, fields ...string) []byte {
	b, err := baostock.EncodeResponse(baostock.Message{Version: ServerVersion, Type: typ,
		Body: strings.Join(fields, baostock.Sep)})
	if err != nil {
		panic(err) // our own constant-shaped frames
	}
	return b
}

// errorFrame is a type-04 error reply.
func errorFrame(code, msg string) []byte { return frame(baostock.TypeError, code, msg) }
