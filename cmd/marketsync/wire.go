package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/marketsync/marketsync/internal/alert"
	"github.com/marketsync/marketsync/internal/app"
	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/baostock"
	"github.com/marketsync/marketsync/internal/source/demo"
	"github.com/marketsync/marketsync/internal/source/stockguru"
	"github.com/marketsync/marketsync/internal/source/tushare"
	"github.com/marketsync/marketsync/internal/store"
)

// defaultDatabaseURL is the local PostgreSQL that `make run` and the tests use.
const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/marketsync?sslmode=disable"

func databaseURL(getenv func(string) string) string {
	if u := getenv("DATABASE_URL"); u != "" {
		return u
	}
	return defaultDatabaseURL
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newLogger logs JSON, or text on a terminal, unless MARKETSYNC_LOG_FORMAT says which;
// preferText picks text off a terminal too (the CLI's stderr is read by people).
func newLogger(getenv func(string) string, w io.Writer, level slog.Level, preferText bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	format := getenv("MARKETSYNC_LOG_FORMAT")
	if format == "text" || (format == "" && (preferText || isTerminal(w))) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// sourceNames are the sources marketsync knows.
var sourceNames = []string{"demo", "tushare", "baostock", "stockguru"}

// envMetricsToken is the bearer token GET /metrics asks for; unset, it answers anyone.
const envMetricsToken = "MARKETSYNC_METRICS_TOKEN"

// appConfig is the app's configuration from the environment: the database, the sources
// (source names the default, else MARKETSYNC_SOURCE, else demo; MARKETSYNC_DEMO_*,
// TUSHARE_*), the batch size cap (MARKETSYNC_MAX_BATCH_DAYS), the alerts' words and
// links (MARKETSYNC_ALERT_LANG, MARKETSYNC_PUBLIC_URL) and the metrics' token
// (MARKETSYNC_METRICS_TOKEN), with the engine tuned
// by cfg. A malformed variable, an unknown source or one not configured (tushare without
// its token) is a usage error.
func appConfig(getenv func(string) string, log *slog.Logger, cfg engine.Config, source string) (*app.Config, error) {
	demoCfg, err := demo.ConfigFromEnv(getenv)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if source == "" {
		source = getenv("MARKETSYNC_SOURCE")
	}
	if source == "" {
		source = "demo"
	}
	if !slices.Contains(sourceNames, source) {
		return nil, usageError("unknown source %q (known: %s)", source, strings.Join(sourceNames, ", "))
	}
	var ts *tushare.Config
	if getenv(tushare.EnvToken) != "" {
		c, err := tushare.ConfigFromEnv(getenv)
		if err != nil {
			return nil, usageError("%v", err)
		}
		c.Logger = log
		ts = &c
	} else if source == "tushare" {
		return nil, usageError("the tushare source needs %s, the account's Tushare Pro token", tushare.EnvToken)
	}
	// Baostock needs no account, but this machine may not reach it: it is offered when it
	// is the default or BAOSTOCK_ADDR names it.
	var bs *baostock.Config
	if source == "baostock" || getenv(baostock.EnvAddr) != "" {
		c, err := baostock.ConfigFromEnv(getenv)
		if err != nil {
			return nil, usageError("%v", err)
		}
		bs = &c
	}
	oldDB := getenv(stockguru.EnvURL)
	if source == "stockguru" && oldDB == "" {
		return nil, usageError("the stockguru source needs %s, the old system's database", stockguru.EnvURL)
	}
	if v := getenv("MARKETSYNC_MAX_BATCH_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, usageError("MARKETSYNC_MAX_BATCH_DAYS=%q: want a number of days, at least 1 (default %d, twenty years)", v, engine.DefaultMaxBatchDays)
		}
		cfg.MaxBatchDays = n
	}
	authCfg, err := authConfig(getenv)
	if err != nil {
		return nil, err
	}
	alertCfg, err := alert.ConfigFromEnv(getenv)
	if err != nil {
		return nil, usageError("%v", err)
	}
	cfg.Alerts = alert.NewSender(&alertCfg)
	return &app.Config{DatabaseURL: databaseURL(getenv), SourceName: source, Demo: demoCfg, Tushare: ts,
		Baostock: bs, StockGuruURL: oldDB, Engine: cfg, Logger: log, Auth: authCfg,
		AdminPassword: getenv("MARKETSYNC_ADMIN_PASSWORD"), MetricsToken: strings.TrimSpace(getenv(envMetricsToken))}, nil
}

// authConfig reads MARKETSYNC_ANONYMOUS (viewer or operator; admin is never anonymous)
// and MARKETSYNC_SESSION_IDLE.
func authConfig(getenv func(string) string) (auth.Config, error) {
	var c auth.Config
	if v := getenv("MARKETSYNC_ANONYMOUS"); v != "" && v != "none" {
		r, err := market.ParseRole(v)
		if err != nil || r == market.RoleAdmin {
			return c, usageError("MARKETSYNC_ANONYMOUS=%q: want viewer or operator (or none, the default)", v)
		}
		c.Anonymous = r
	}
	if v := getenv("MARKETSYNC_SESSION_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return c, usageError("MARKETSYNC_SESSION_IDLE=%q: want a duration of a minute or more, e.g. 12h", v)
		}
		c.Idle = d
	}
	if pw := getenv("MARKETSYNC_ADMIN_PASSWORD"); pw != "" {
		if err := market.CheckPassword(pw); err != nil {
			return c, usageError("MARKETSYNC_ADMIN_PASSWORD: %v", err)
		}
	}
	return c, nil
}

// scheduleConfig reads MARKETSYNC_SCHEDULE, the daily schedules that serve and worker
// seed into an empty schedules table and fire (market.ParseScheduleSeeds: empty is daily
// at 17:30 on the default source; "off" is nil, this process fires none). A malformed
// value or an unknown source is a usage error.
func scheduleConfig(getenv func(string) string) (*engine.ScheduleConfig, error) {
	seeds, off, err := market.ParseScheduleSeeds(getenv("MARKETSYNC_SCHEDULE"))
	if err != nil {
		return nil, usageError("MARKETSYNC_SCHEDULE: %v", err)
	}
	if off {
		return nil, nil
	}
	for _, s := range seeds {
		if s.Source != "" && !slices.Contains(sourceNames, s.Source) {
			return nil, usageError("MARKETSYNC_SCHEDULE: unknown source %q (known: %s)", s.Source, strings.Join(sourceNames, ", "))
		}
	}
	return &engine.ScheduleConfig{Seeds: seeds}, nil
}

// newApp is app.New for serve and worker: a schedule the configured sources cannot run
// is a usage error.
func newApp(ctx context.Context, cfg *app.Config) (*app.App, error) {
	a, err := app.New(ctx, cfg)
	if err != nil && market.IsInputError(err) {
		return nil, usageError("MARKETSYNC_SCHEDULE: %v", err)
	}
	return a, err
}

// sourceFlag adds --source to fs.
func sourceFlag(fs *flag.FlagSet) *string {
	return fs.String("source", "", "the source to load from: demo, tushare, baostock or stockguru (default: $MARKETSYNC_SOURCE, else demo)")
}

// parseFlags parses args into fs, turning mistakes into one-line usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			var b strings.Builder
			fs.SetOutput(&b)
			fs.PrintDefaults()
			return &exitError{code: 0, err: fmt.Errorf("usage of %s:\n%s", fs.Name(), b.String())}
		}
		return usageError("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usageError("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	url := databaseURL(getenv)
	if err := store.EnsureDatabase(ctx, url); err != nil {
		return err
	}
	pool, err := store.Open(ctx, url, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := store.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
		return nil
	}
	fmt.Fprintln(stdout, "applied:", strings.Join(applied, ", "))
	return nil
}

func runWorker(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	workers := fs.Int("workers", 2, "days loaded at once by this process")
	source := sourceFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *workers < 1 {
		return usageError("worker: --workers must be at least 1")
	}
	log := newLogger(getenv, stderr, slog.LevelInfo, false)
	cfg, err := appConfig(getenv, log, engine.Config{Parallelism: *workers, Adopt: true}, *source)
	if err != nil {
		return err
	}
	if cfg.Schedule, err = scheduleConfig(getenv); err != nil {
		return err
	}
	cfg.Wait = true
	a, err := newApp(ctx, cfg)
	if ctx.Err() != nil {
		return nil // stopped while waiting for the database
	}
	if err != nil {
		return err
	}
	defer a.Close()
	return a.RunWorker(ctx)
}
