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

// Config is everything the handlers need. Batches, Calendar, Hub and DB are required.
type Config struct {
	// Batches is the engine.
	Batches Batches
	// Calendar is the trading calendar (default form dates, coverage years).
	Calendar *calendar.Calendar
	// Hub feeds the WebSocket routes.
	Hub *live.Hub
	// DB is pinged by /healthz.
	DB Pinger
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
	// Metrics is what GET /metrics serves, in Prometheus' text format (the app's own
	// registry); nil serves no /metrics.
	Metrics prometheus.Gatherer
	// MetricsToken, when set, is the bearer token /metrics asks for (401 without it);
	// empty, /metrics answers anyone.
	MetricsToken string
}

// server holds the handlers' dependencies; its methods are the routes.
type server struct {
	batches Batches
	cal     *calendar.Calendar
	hub     *live.Hub
	db      Pinger
	static  fs.FS
	zone    *time.Location
	log     *slog.Logger
	now     func() time.Time

	corsOrigins  []string
	metrics      prometheus.Gatherer
	metricsToken string
	// sockets counts the WebSocket handlers running (see waitSockets).
	sockets atomic.Int64
}

// New builds the Fiber app with every route of routes.go.
func New(cfg *Config) (*fiber.App, error) {
	if cfg == nil || cfg.Batches == nil || cfg.Calendar == nil || cfg.Hub == nil || cfg.DB == nil {
		return nil, errors.New("handlers: Config needs Batches, Calendar, Hub and DB")
	}
	s := &server{
		batches: cfg.Batches,
		cal:     cfg.Calendar,
		hub:     cfg.Hub,
		db:      cfg.DB,
		static:  cfg.Static,
		zone:    cfg.Zone,
		log:     cfg.Logger,
		now:     cfg.Now,

		corsOrigins:  cfg.CORSOrigins,
		metrics:      cfg.Metrics,
		metricsToken: cfg.MetricsToken,
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
