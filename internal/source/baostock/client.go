package baostock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/metrics"
)

// Defaults of Config.
const (
	DefaultAddr        = "public-api.baostock.com:10030"
	DefaultVersion     = "00.9.10"
	DefaultUser        = "anonymous"
	DefaultPassword    = "123456"
	DefaultCallTimeout = 30 * time.Second
	DefaultDialTimeout = 10 * time.Second
	DefaultPerPage     = 10000
)

// Environment variables read by ConfigFromEnv.
const (
	EnvAddr     = "BAOSTOCK_ADDR"
	EnvVersion  = "BAOSTOCK_VERSION"
	EnvUser     = "BAOSTOCK_USER"
	EnvPassword = "BAOSTOCK_PASSWORD"
	EnvTimeout  = "BAOSTOCK_TIMEOUT"
)

// Config says where and how the client talks to Baostock. Zero fields take the defaults.
type Config struct {
	// Addr is the server's host:port (DefaultAddr).
	Addr string
	// Version is the client version string sent in every header (DefaultVersion, that of
	// the 0.9.1 Python client the captures came from; newer clients send "00.9.40").
	Version string
	// User and Password log in (the public account anonymous/123456). The password never
	// appears in an error or a log.
	User, Password string
	// CallTimeout bounds each request/reply exchange (DefaultCallTimeout).
	CallTimeout time.Duration
	// DialTimeout bounds connecting (DefaultDialTimeout).
	DialTimeout time.Duration
	// PerPage is the page size asked for paged queries (DefaultPerPage, as 0.9.1 asks).
	PerPage int
	// MaxFrame caps one reply, raw or decompressed (DefaultMaxFrame).
	MaxFrame int
	// Now is the clock (time.Now), for the logout's timestamp.
	Now func() time.Time
	// Metrics counts and times the requests and their errors, by method (nil: none).
	Metrics *metrics.Metrics
}

// ConfigFromEnv reads BAOSTOCK_ADDR, BAOSTOCK_VERSION, BAOSTOCK_USER, BAOSTOCK_PASSWORD
// and BAOSTOCK_TIMEOUT (a Go duration, per call) through getenv; unset means default.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Addr:     getenv(EnvAddr),
		Version:  getenv(EnvVersion),
		User:     getenv(EnvUser),
		Password: getenv(EnvPassword),
	}
	if cfg.Version != "" && len(cfg.Version) != 7 {
		return Config{}, fmt.Errorf("%s=%q: want 7 characters such as 00.9.10", EnvVersion, cfg.Version)
	}
	if v := getenv(EnvTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s=%q: want a positive duration such as 30s", EnvTimeout, v)
		}
		cfg.CallTimeout = d
	}
	return cfg, nil
}

func (cfg Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&cfg.Addr, DefaultAddr)
	def(&cfg.Version, DefaultVersion)
	def(&cfg.User, DefaultUser)
	def(&cfg.Password, DefaultPassword)
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.PerPage <= 0 {
		cfg.PerPage = DefaultPerPage
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = DefaultMaxFrame
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// Client talks to Baostock over one TCP connection, one request at a time: Baostock
// blacklists an IP that opens parallel connections (error 10001011) for about a day. It
// connects and logs in lazily, connects and logs in again after a dropped connection, and
// logs in again once when the server says the session is gone (10001001). It is safe for
// concurrent use; concurrent calls wait their turn. Build it with New.
type Client struct {
	cfg  Config
	turn chan struct{} // one token: holding it is the right to use the connection
	life context.Context
	end  context.CancelFunc // ends life: Close

	// Guarded by turn.
	conn     net.Conn
	rd       *bufio.Reader
	loggedIn bool
	// banned is Baostock's blacklist answer (10001011) and when it came: for
	// blacklistHold after it, calls return it again without asking a server that would
	// only extend the ban.
	banned   error
	bannedAt time.Time
}

// blacklistHold is how long a client that was told its address is blacklisted keeps
// answering that itself instead of calling again.
const blacklistHold = time.Hour

// New builds a client; cfg may be nil for the defaults. It does not connect yet.
func New(cfg *Config) *Client {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	life, end := context.WithCancel(context.Background())
	return &Client{cfg: c.withDefaults(), turn: make(chan struct{}, 1), life: life, end: end}
}

// ErrClosed is returned by calls on a closed Client, and by a call in flight when the
// client closes.
var ErrClosed = errors.New("baostock: client closed")

// Close aborts the call in flight, if any, and drops the connection without logging out.
// Later calls return ErrClosed.
func (c *Client) Close() error {
	c.end()
	c.turn <- struct{}{}
	defer func() { <-c.turn }()
	return c.drop()
}

// acquire waits for the client's turn, or for ctx. It returns a context that also ends
// when the client closes, and the function that gives the turn back.
func (c *Client) acquire(ctx context.Context) (context.Context, func(), error) {
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-c.life.Done():
		return nil, nil, ErrClosed
	}
	if c.life.Err() != nil {
		<-c.turn
		return nil, nil, ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.life, cancel)
	return ctx, func() { stop(); cancel(); <-c.turn }, nil
}

// closedErr turns the cancellation a Close causes into ErrClosed.
func (c *Client) closedErr(err error) error {
	if err != nil && c.life.Err() != nil && errors.Is(err, context.Canceled) {
		return ErrClosed
	}
	return err
}

func (c *Client) drop() error {
	var err error
	if c.conn != nil {
		err = c.conn.Close()
	}
	c.conn, c.rd, c.loggedIn = nil, nil, false
	return err
}

func (c *Client) connect(ctx context.Context) error {
	if c.conn != nil {
		return nil
	}
	d := net.Dialer{Timeout: c.cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("baostock: connecting to %s: %w", c.cfg.Addr, err)
	}
	c.conn, c.rd, c.loggedIn = conn, bufio.NewReaderSize(conn, 64<<10), false
	return nil
}

// exchange sends one request on the connection and reads its reply, within the call
// timeout and ctx. Any failure drops the connection, whose state is then unknown.
func (c *Client) exchange(ctx context.Context, typ string, fields []string) (Message, error) {
	req, err := EncodeRequest(Message{Version: c.cfg.Version, Type: typ, Body: strings.Join(fields, Sep)})
	if err != nil {
		return Message{}, err
	}
	conn := c.conn
	deadline := time.Now().Add(c.cfg.CallTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		c.drop()
		return Message{}, err
	}
	// Cancelling ctx aborts a blocked write or read at once: a deadline in the past.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	_, err = conn.Write(req)
	var reply Message
	if err == nil {
		reply, err = ReadResponse(c.rd, c.cfg.MaxFrame)
	}
	if err == nil && c.rd.Buffered() > 0 {
		err = fmt.Errorf("%w: %d unexpected bytes after the reply", ErrMalformed, c.rd.Buffered())
	}
	if err != nil {
		c.drop()
		if ctx.Err() != nil {
			return Message{}, ctx.Err()
		}
		return Message{}, err
	}
	return reply, nil
}

// roundTrip sends one request and checks that the reply answers it, connecting (not
// logging in) first when needed. The metrics count it by method, connecting included.
func (c *Client) roundTrip(ctx context.Context, typ string, fields []string) ([]string, error) {
	began := time.Now()
	out, err := c.roundTripOnce(ctx, typ, fields)
	c.cfg.Metrics.UpstreamCall("baostock", fields[0], time.Since(began), err)
	return out, err
}

func (c *Client) roundTripOnce(ctx context.Context, typ string, fields []string) ([]string, error) {
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	reply, err := c.exchange(ctx, typ, fields)
	if err != nil {
		return nil, fmt.Errorf("baostock %s: %w", fields[0], err)
	}
	if reply.Type != ReplyType(typ) && reply.Type != TypeError {
		c.drop()
		return nil, fmt.Errorf("baostock %s: %w: reply of type %s to a request of type %s",
			fields[0], ErrMalformed, reply.Type, typ)
	}
	out := reply.Fields()
	if len(out) < 2 {
		return nil, fmt.Errorf("baostock %s: %w: reply %q has no code and message", fields[0], ErrMalformed, reply.Body)
	}
	if reply.Type == TypeError || out[0] != CodeSuccess {
		return nil, &Error{Method: fields[0], Code: out[0], Msg: out[1]}
	}
	return out, nil
}

// closedBeforeReply reports an error of a connection that the server had closed before
// the request: a clean end before any byte of the reply, or a reset.
func closedBeforeReply(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// login sends the login request on the current connection.
func (c *Client) login(ctx context.Context) error {
	_, err := c.roundTrip(ctx, TypeLogin, []string{"login", c.cfg.User, c.cfg.Password, "0"})
	if err != nil {
		return err
	}
	c.loggedIn = true
	return nil
}

// attempt logs in if needed, then sends the request.
func (c *Client) attempt(ctx context.Context, typ string, fields []string) ([]string, error) {
	if !c.loggedIn {
		if err := c.login(ctx); err != nil {
			return nil, err
		}
	}
	return c.roundTrip(ctx, typ, fields)
}

// call sends one request in the client's turn, connecting and logging in first when
// needed. It logs in again once if the server says the session is gone (10001001), and
// connects again once if the connection, kept from an earlier call, turns out closed by
// the server while idle.
func (c *Client) call(ctx context.Context, typ string, fields []string) ([]string, error) {
	ctx, release, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if c.banned != nil && c.cfg.Now().Sub(c.bannedAt) < blacklistHold {
		return nil, c.banned
	}
	idle := c.conn != nil
	relogged := false
	for {
		out, err := c.attempt(ctx, typ, fields)
		var e *Error
		switch {
		case idle && closedBeforeReply(err) && ctx.Err() == nil:
			idle = false
		case errors.As(err, &e) && e.Code == CodeNotLoggedIn && !relogged:
			relogged, c.loggedIn = true, false
		case errors.As(err, &e) && e.Code == CodeBlacklisted:
			c.banned, c.bannedAt = err, c.cfg.Now()
			return nil, err
		default:
			return out, c.closedErr(err)
		}
	}
}

// Login connects if needed and logs in, even if a session exists already. Calls log in
// by themselves; Login is for checking the account early.
func (c *Client) Login(ctx context.Context) error {
	ctx, release, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return c.closedErr(c.login(ctx))
}

// Logout ends the session, if any, and closes the connection. The reply's error, if
// any, is returned; the connection is closed either way.
func (c *Client) Logout(ctx context.Context) error {
	ctx, release, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	if c.conn == nil || !c.loggedIn {
		return c.drop()
	}
	stamp := c.cfg.Now().In(market.ExchangeZone).Format("20060102150405")
	_, err = c.roundTrip(ctx, TypeLogout, []string{"logout", c.cfg.User, stamp})
	c.drop()
	return c.closedErr(err)
}

// page sends page p of a paged query: method, user, page, per-page count, then args.
func (c *Client) page(ctx context.Context, typ, method string, p int, args []string) ([]string, error) {
	fields := append([]string{method, c.cfg.User, strconv.Itoa(p), strconv.Itoa(c.cfg.PerPage)}, args...)
	return c.call(ctx, typ, fields)
}
