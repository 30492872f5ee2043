// Package app wires marketsync together: the pool (migrated), the trading calendar, the
// source, the engine, the live hub, the metrics (a registry of the app's own, served at
// /metrics) and the Fiber app, and runs them until told to stop, shutting down the way a
// server must. `marketsync serve`, `worker` and `sync` build it, and so do the handlers'
// tests and benchmarks: there is one copy of the wiring.
//
// It is main's wiring, kept out of package main so tests can build the same thing; that
// is why it alone under internal imports handlers.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/marketsync/marketsync/handlers"
	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/live"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/metrics"
	"github.com/marketsync/marketsync/internal/source/baostock"
	"github.com/marketsync/marketsync/internal/source/demo"
	"github.com/marketsync/marketsync/internal/source/stockguru"
	"github.com/marketsync/marketsync/internal/source/tushare"
	"github.com/marketsync/marketsync/internal/store"
	"github.com/marketsync/marketsync/static"
)

// Config is what New builds the app from. DatabaseURL or Pool is required.
type Config struct {
	// DatabaseURL is the PostgreSQL to use: the database is created when missing and
	// migrated. Ignored when Pool is set.
	DatabaseURL string
	// Pool, when set, is used as it is instead (already migrated); Close leaves it open.
	Pool *pgxpool.Pool
	// Wait makes New wait for a PostgreSQL that cannot be reached yet, saying so, until
	// ctx ends (a server started before its database); without it that is an error at
	// once.
	Wait bool
	// Source, when set, is the only source, the default (tests pass theirs); otherwise
	// the sources are the demo market (configured by Demo) and Tushare (when Tushare is
	// set), and SourceName names the default.
	Source engine.Source
	// SourceName names the default source: "demo" (the default), "tushare", "baostock"
	// or "stockguru".
	SourceName string
	// Demo configures the demo market.
	Demo demo.Config
	// Tushare, when set, configures the Tushare Pro source (its rate limits are kept in
	// PostgreSQL, shared by every process).
	Tushare *tushare.Config
	// Baostock, when set, configures the Baostock source (no account needed).
	Baostock *baostock.Config
	// StockGuruURL, when set, is the old system's database: the stockguru source reads
	// its daily_stock_data.
	StockGuruURL string
	// Engine tunes the engine; its Logger defaults to Logger.
	Engine engine.Config
	// Listener is where Run serves HTTP; nil serves nothing (tests call HTTP.Test).
	Listener net.Listener
	// StartWorkers, when not nil, holds the engine's workers back until it is closed:
	// batches started before wait in the queue (a benchmark connects its watchers first).
	StartWorkers <-chan struct{}
	// Zone is where pages and JSON show times (default Asia/Shanghai).
	Zone *time.Location
	// Static holds the files served under /static (default static.Files).
	Static fs.FS
	// CORSOrigins are the other sites whose pages may call the JSON API
	// (handlers.Config.CORSOrigins).
	CORSOrigins []string
	// TrustedProxies are the reverse proxies believed about the client's address
	// (handlers.Config.TrustedProxies).
	TrustedProxies []string
	// Schedule, when set, makes this process seed the daily schedules (on an empty
	// table) and fire them (serve and worker); nil leaves that to other processes (the
	// settings page still reads and changes them).
	Schedule *engine.ScheduleConfig
	// MetricsToken, when set, is a bearer token GET /metrics takes instead of a viewer's
	// credentials (handlers.Config.MetricsToken).
	MetricsToken string
	// Logger receives the structured logs (default: discard).
	Logger *slog.Logger
	// Auth configures the accounts: the anonymous role (none by default), the session
	// idle timeout, the login limits.
	Auth auth.Config
	// AdminPassword, when set and no account exists yet, creates the account "admin"
	// with it (MARKETSYNC_ADMIN_PASSWORD). GenerateAdmin does the same with a random
	// password, left in App.GeneratedPassword for the caller to show once (`make run`).
	AdminPassword string
	GenerateAdmin bool
}

// App is marketsync, built. Its parts are exported for the commands and tests that use
// one of them directly (the CLI follows its batch through Engine, tests send requests
// through HTTP.Test).
type App struct {
	Pool     *pgxpool.Pool
	Calendar *calendar.Calendar
	Source   engine.Source
	Engine   *engine.Engine
	// Scheduler keeps the daily schedules; Run fires them when Config.Schedule is set.
	Scheduler *engine.Scheduler
	Hub       *live.Hub
	HTTP      *fiber.App
	Auth      *auth.Service
	// GeneratedPassword is the password of the admin that Config.GenerateAdmin created,
	// if it did.
	GeneratedPassword string

	log      *slog.Logger
	registry *prometheus.Registry // the app's own: /metrics serves it
	metrics  *metrics.Metrics
	closers  []io.Closer // the sources that hold connections
	zone     *time.Location
	cors     []string
	ln       net.Listener
	hold     <-chan struct{}
	ownsPool bool
	schedule bool // fire the schedules
}

// New connects (see Config.Wait), migrates and builds every part. It returns ctx's
// error when ctx ends while it waits for the database.
func New(ctx context.Context, cfg *Config) (*App, error) {
	if cfg == nil || (cfg.Pool == nil && cfg.DatabaseURL == "") {
		return nil, errors.New("app: Config needs a DatabaseURL or a Pool")
	}
	c := *cfg
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Zone == nil {
		c.Zone = handlers.DefaultZone()
	}
	if c.Static == nil {
		c.Static = static.Files
	}
	if c.Engine.Logger == nil {
		c.Engine.Logger = c.Logger
	}
	cal, err := calendar.New()
	if err != nil {
		return nil, err
	}
	a := &App{Pool: c.Pool, Calendar: cal, Source: c.Source, log: c.Logger, zone: c.Zone, cors: c.CORSOrigins,
		ln: c.Listener, hold: c.StartWorkers, registry: prometheus.NewRegistry()}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = metrics.New(a.registry)
	if a.Pool == nil {
		// One connection per day in flight, plus the queue's, the listeners' and requests'.
		a.Pool, err = connect(ctx, c.DatabaseURL, max(c.Engine.Parallelism, 0)+10, c.Logger, c.Wait)
		if err != nil {
			return nil, err
		}
		a.ownsPool = true
	}
	if err := a.build(ctx, &c); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// build makes the sources, the engine, the hub and the Fiber app on a's pool.
func (a *App) build(ctx context.Context, c *Config) error {
	if a.Source == nil {
		var others []engine.Source
		var err error
		if a.Source, others, err = a.sources(c); err != nil {
			return err
		}
		c.Engine.Sources = append(c.Engine.Sources, others...)
	}
	a.registry.MustRegister(metrics.NewStateCollector(store.Stats{DB: a.Pool}))
	if c.Engine.Metrics == nil {
		c.Engine.Metrics = a.metrics
	}
	var err error
	if a.Engine, err = engine.New(ctx, a.Pool, a.Source, a.Calendar, &c.Engine); err != nil {
		return err
	}
	a.Scheduler, a.schedule = engine.NewScheduler(a.Engine, c.Schedule), c.Schedule != nil
	if err := a.Scheduler.CheckSeeds(); err != nil {
		return err
	}
	if err := a.Engine.LoadCalendar(ctx); store.IsUnavailable(err) {
		// The app starts on a database that is away (its pages answer 503); the
		// engine's calendar refresh reads the table once it is back.
		c.Logger.Warn("the trade calendar is not read yet: the database is unavailable", "err", err)
	} else if err != nil {
		return fmt.Errorf("loading the trade calendar: %w", err)
	}
	a.Hub, err = live.NewHub(a.Pool, &live.HubConfig{
		Loader: a.Engine, Renderer: handlers.Fragments{Zone: c.Zone}, Channel: engine.ProgressChannel,
		Metrics: a.metrics,
	}, c.Logger)
	if err != nil {
		return err
	}
	if c.Auth.Logger == nil {
		c.Auth.Logger = c.Logger
	}
	a.Auth = auth.New(a.Pool, &c.Auth)
	if err := a.firstAdmin(ctx, c); err != nil {
		return err
	}
	a.HTTP, err = handlers.New(&handlers.Config{
		Batches: a.Engine, Alerts: a.Engine, Days: store.DayMarkets{Pool: a.Pool}, Schedules: a.Scheduler,
		Calendar: a.Calendar, Hub: a.Hub, DB: a.Pool, Auth: a.Auth, Static: c.Static,
		Zone: c.Zone, Logger: c.Logger, CORSOrigins: c.CORSOrigins, TrustedProxies: c.TrustedProxies,
		Metrics: a.registry, MetricsToken: c.MetricsToken, Stocks: store.NewWarehouse(a.Pool),
	})
	return err
}

// firstAdmin creates the account "admin" on an empty users table, with
// Config.AdminPassword or, with GenerateAdmin, a random one.
func (a *App) firstAdmin(ctx context.Context, c *Config) error {
	pw := c.AdminPassword
	if pw == "" && !c.GenerateAdmin {
		return nil
	}
	if pw == "" {
		pw = auth.RandomPassword()
	}
	made, err := a.Auth.EnsureAdmin(ctx, market.Actor{By: market.OriginCLI, User: "marketsync"}, pw)
	if store.IsUnavailable(err) {
		c.Logger.Warn("the first admin is not created: the database is unavailable", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating the first admin: %w", err)
	}
	if made {
		c.Logger.Info("created the first account, admin")
		if c.AdminPassword == "" {
			a.GeneratedPassword = pw
		}
	}
	return nil
}

// ErrUnknownSource reports a source name that is not one of marketsync's, or that is
// not configured (tushare without its token).
var ErrUnknownSource = errors.New("unknown source")

// sources builds the configured sources and returns the default one and the others.
func (a *App) sources(c *Config) (engine.Source, []engine.Source, error) {
	all := []engine.Source{demo.New(a.Calendar, c.Demo)}
	if c.Tushare != nil {
		tc := *c.Tushare
		tc.Metrics = a.metrics
		ts, err := tushare.New(store.NewRateLimiter(a.Pool, nil), &tc)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, ts)
	}
	if c.Baostock != nil {
		bc := *c.Baostock
		bc.Metrics = a.metrics
		bs := baostock.NewSource(&bc)
		a.closers = append(a.closers, bs)
		all = append(all, bs)
	}
	if c.StockGuruURL != "" {
		sg, err := stockguru.New(c.StockGuruURL)
		if err != nil {
			return nil, nil, err
		}
		a.closers = append(a.closers, sg)
		all = append(all, sg)
	}
	name := c.SourceName
	if name == "" {
		name = "demo"
	}
	for i, s := range all {
		if s.Name() == name {
			return s, append(all[:i:i], all[i+1:]...), nil
		}
	}
	switch name {
	case "tushare":
		return nil, nil, fmt.Errorf("%w: the tushare source needs TUSHARE_TOKEN (the account's Tushare Pro token)", ErrUnknownSource)
	case "stockguru":
		return nil, nil, fmt.Errorf("%w: the stockguru source needs STOCKGURU_DATABASE_URL (the old system's database)", ErrUnknownSource)
	}
	return nil, nil, fmt.Errorf("%w %q (known: demo, tushare, baostock, stockguru)", ErrUnknownSource, name)
}

// Run runs the engine's workers, the hub and (with a Listener) the HTTP server until
// ctx ends or one of them fails. Then it stops taking days, closes the WebSockets with
// a reason (browsers reconnect by themselves), stops the HTTP server, and lets the days
// in flight finish or roll back before it returns.
func (a *App) Run(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	results := make(chan error, 4)
	running := 0
	start := func(f func() error) {
		running++
		go func() { results <- f() }()
	}
	start(func() error { return a.Hub.Run(ctx) })
	start(func() error { return a.runEngine(ctx) })
	if a.schedule {
		start(func() error { return a.Scheduler.Run(ctx) })
	}
	if a.ln != nil {
		start(func() error { return a.HTTP.Listener(a.ln) })
		a.log.Info(fmt.Sprintf("serving http://%s", displayAddr(a.ln.Addr())), "addr", a.ln.Addr().String(),
			"workers", a.Engine.Parallelism(), "tz", a.zone.String(), "cors_origins", a.cors)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-results:
		running--
	}
	a.log.Info("shutting down")
	stop()
	a.Hub.Shutdown()
	if err := a.HTTP.ShutdownWithTimeout(5 * time.Second); err != nil {
		a.log.Warn("closing the HTTP server", "err", err)
	}
	if a.ln != nil {
		a.ln.Close() // in case the server had not started serving yet
	}
	for ; running > 0; running-- {
		if err := <-results; err != nil && runErr == nil {
			runErr = err
		}
	}
	if runErr != nil {
		return runErr
	}
	a.log.Info("stopped")
	return nil
}

// runEngine runs the engine's workers once StartWorkers allows, until ctx ends.
func (a *App) runEngine(ctx context.Context) error {
	if a.hold != nil {
		select {
		case <-a.hold:
		case <-ctx.Done():
			return nil
		}
	}
	return a.Engine.Run(ctx)
}

// RunWorker runs the engine's workers and (with Config.Schedule) the schedules until ctx
// ends: a worker process, without pages or live feeds.
func (a *App) RunWorker(ctx context.Context) error {
	if !a.schedule {
		return a.Engine.Run(ctx)
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	scheduled := make(chan error, 1)
	go func() { scheduled <- a.Scheduler.Run(ctx) }()
	err := a.Engine.Run(ctx)
	stop()
	return errors.Join(err, <-scheduled)
}

// Close closes the pool when New opened it. Call it after Run has returned.
func (a *App) Close() {
	for _, c := range a.closers {
		c.Close()
	}
	if a.ownsPool {
		a.Pool.Close()
	}
}

// connect opens a migrated pool of at least conns connections on url, creating the
// database when missing; with wait, it waits for a PostgreSQL that cannot be reached,
// saying so every 10 s, until ctx ends.
func connect(ctx context.Context, url string, conns int, log *slog.Logger, wait bool) (*pgxpool.Pool, error) {
	backoff, said := 250*time.Millisecond, time.Time{}
	for {
		pool, err := tryConnect(ctx, url, conns, log)
		if err == nil || !wait || !store.IsUnavailable(err) {
			return pool, err
		}
		if time.Since(said) >= 10*time.Second {
			log.Warn("waiting for PostgreSQL to accept connections", "db", store.DescribeURL(url), "err", err)
			said = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func tryConnect(ctx context.Context, url string, conns int, log *slog.Logger) (*pgxpool.Pool, error) {
	if err := store.EnsureDatabase(ctx, url); err != nil {
		return nil, err
	}
	pool, err := store.Open(ctx, url, conns)
	if err != nil {
		return nil, err
	}
	applied, err := store.Migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "versions", applied)
	}
	return pool, nil
}

// displayAddr is a listener's address as a browser would open it.
func displayAddr(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}
