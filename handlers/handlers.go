// Package handlers is marketsync's HTTP face on Fiber: the pages and their htmx actions,
// the JSON API the old system's clients call, the WebSocket feeds of the live hub, the
// OpenAPI document and the health check. It turns requests into engine calls and engine
// answers (and errors, in one place) into HTML or JSON.
package handlers

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/live"
	"github.com/marketsync/marketsync/internal/market"
)

// Batches is what the handlers ask of the engine. *engine.Engine satisfies it.
type Batches interface {
	Start(ctx context.Context, spec market.Spec) (*market.Snapshot, error)
	Snapshot(ctx context.Context, taskID string) (*market.Snapshot, error)
	Cancel(ctx context.Context, taskID string, who market.Actor) error
	Pause(ctx context.Context, taskID string, who market.Actor) error
	Resume(ctx context.Context, taskID string, who market.Actor) error
	Retry(ctx context.Context, taskID string, who market.Actor) (int, error)
	Batches(ctx context.Context, f market.BatchFilter) ([]market.BatchSummary, int, error)
	Active(ctx context.Context) ([]market.BatchSummary, error)
	Overview(ctx context.Context, n int) (*market.Overview, error)
	Errors(ctx context.Context, taskID string, limit, offset int) ([]market.ErrorRecord, int, error)
	Coverage(ctx context.Context, dataset string, start, end time.Time) (*market.Coverage, error)
	CoverageYear(ctx context.Context, dataset string, year int) (*market.Coverage, error)
	CoverageYears() (first, last int)
	Estimate(ctx context.Context, spec market.Spec) (market.Estimate, error)
	LatestDay(datasets []string) (time.Time, bool)
	SyncRecords(ctx context.Context, f market.SyncFilter) (*market.SyncPage, error)
	Sources() []market.SourceInfo
}

// Pinger reports whether PostgreSQL answers; *pgxpool.Pool satisfies it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config is everything the handlers need. Batches, Calendar, Hub, DB and Auth are
// required.
type Config struct {
	// Batches is the engine.
	Batches Batches
	// Schedules keeps the daily schedules (the settings page, the dashboard's panel);
	// nil: no settings page.
	Schedules Schedules
	// Calendar is the trading calendar (default form dates, coverage years).
	Calendar *calendar.Calendar
	// Hub feeds the WebSocket routes.
	Hub *live.Hub
	// DB is pinged by /healthz.
	DB Pinger
	// Auth tells who a request is (sessions, API tokens, the anonymous role) and keeps
	// the audit trail.
	Auth *auth.Service
	// Static holds the files served under /static (css/, js/, favicon.svg); nil serves
	// nothing there.
	Static fs.FS
	// Zone is where pages and JSON show times (default Asia/Shanghai).
	Zone *time.Location
	// Logger receives real faults (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// CORSOrigins are the other sites whose pages may call the JSON API (the old
	// system's front end); see ParseOrigins. They also pass the same-origin check.
	CORSOrigins []string
	// TrustedProxies are the reverse proxies (IPs or CIDRs) whose X-Real-IP and
	// X-Forwarded-Proto headers are believed: behind one, the client's address (the
	// audit trail, login limits) is the header's, not the proxy's.
	TrustedProxies []string
	// Alerts, when set, serves the alerts settings (/settings/alerts).
	Alerts Alerts
	// Days, when set, serves a day's market from the warehouse (/days/:date, its CSV,
	// /api/v1/days/:date).
	Days DayMarkets
	// Metrics is what GET /metrics serves, in Prometheus' text format (the app's own
	// registry); nil serves no /metrics.
	Metrics prometheus.Gatherer
	// MetricsToken, when set, is a bearer token /metrics takes instead of a viewer's
	// credentials (which it asks for otherwise, like every page).
	MetricsToken string
	// Stocks, when set, serves the stock search, the stock pages and the bars API from
	// the warehouse.
	Stocks Stocks
}

// server holds the handlers' dependencies; its methods are the routes.
type server struct {
	batches Batches
	alerts  Alerts
	days    DayMarkets
	cal     *calendar.Calendar
	hub     *live.Hub
	db      Pinger
	auth    *auth.Service
	static  fs.FS
	zone    *time.Location
	log     *slog.Logger
	now     func() time.Time

	corsOrigins  []string
	schedules    Schedules
	metrics      prometheus.Gatherer
	metricsToken string
	stocks       Stocks
	// sockets counts the WebSocket handlers running (see waitSockets).
	sockets atomic.Int64
}

// New builds the Fiber app with every route of routes.go.
func New(cfg *Config) (*fiber.App, error) {
	if cfg == nil || cfg.Batches == nil || cfg.Calendar == nil || cfg.Hub == nil || cfg.DB == nil || cfg.Auth == nil {
		return nil, errors.New("handlers: Config needs Batches, Calendar, Hub, DB and Auth")
	}
	s := &server{
		batches: cfg.Batches,
		alerts:  cfg.Alerts,
		days:    cfg.Days,
		cal:     cfg.Calendar,
		hub:     cfg.Hub,
		db:      cfg.DB,
		auth:    cfg.Auth,
		static:  cfg.Static,
		zone:    cfg.Zone,
		log:     cfg.Logger,
		now:     cfg.Now,

		corsOrigins:  cfg.CORSOrigins,
		schedules:    cfg.Schedules,
		metrics:      cfg.Metrics,
		metricsToken: cfg.MetricsToken,
		stocks:       cfg.Stocks,
	}
	if s.zone == nil {
		s.zone = DefaultZone()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	app := fiber.New(fiber.Config{
		AppName:               "marketsync",
		DisableStartupMessage: true,
		ErrorHandler:          s.handleError,
		ReadTimeout:           30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		BodyLimit:             1 << 20,
		// Only the proxies named are believed about the client's address and scheme.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          cfg.TrustedProxies,
		ProxyHeader:             proxyHeader(cfg.TrustedProxies),
	})
	s.routes(app)
	// Shutting down waits for the sockets that the hub closed to send their close
	// frames, so none is cut off when the process exits right after.
	app.Hooks().OnShutdown(func() error {
		s.waitSockets(socketCloseWait)
		return nil
	})
	return app, nil
}

// proxyHeader is the header that names the client behind a trusted proxy: X-Real-IP,
// which the proxy sets (unlike X-Forwarded-For, to which a client can prepend).
func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return "X-Real-IP"
}

// DefaultZone is Asia/Shanghai, or UTC+8 where the system has no zone database.
func DefaultZone() *time.Location {
	return market.ExchangeZone
}

// today is the current date in exchange time, at midnight UTC like every trading date.
func (s *server) today() time.Time { return market.Today(s.now()) }

// latestDay is the form's default date: the latest trading day whose data of the
// default datasets is published.
func (s *server) latestDay() string {
	if d, ok := s.batches.LatestDay(nil); ok {
		return d.Format(market.DateLayout)
	}
	return s.today().Format(market.DateLayout)
}

// earlier returns the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
