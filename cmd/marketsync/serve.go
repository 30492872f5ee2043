package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai even where the system has no zone database

	"github.com/marketsync/marketsync/handlers"
	"github.com/marketsync/marketsync/internal/engine"
)

// hostname names this machine in created_by/cancelled_by records of the CLI.
func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return h
}

// runServe serves the web app, the JSON API and the live feed, and runs the workers.
// On SIGTERM it stops taking days, closes the WebSockets with a reason (browsers
// reconnect by themselves), lets the days in flight finish or roll back, and exits.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "HOST:PORT to listen on")
	workers := fs.Int("workers", 2, "days loaded at once by this process (0: serve only, no workers)")
	tz := fs.String("tz", "Asia/Shanghai", "time zone in which pages and JSON show times")
	source := sourceFlag(fs)
	initAdmin := fs.Bool("init-admin", false, "on a database without accounts, create \"admin\" with a random password and print it once")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	zone, err := time.LoadLocation(*tz)
	if err != nil {
		return usageError("serve: --tz: unknown time zone %q", *tz)
	}
	if *workers < 0 {
		return usageError("serve: --workers must be 0 or more")
	}
	origins, err := handlers.ParseOrigins(getenv("MARKETSYNC_CORS_ORIGINS"))
	if err != nil {
		return usageError("serve: MARKETSYNC_CORS_ORIGINS: %v", err)
	}
	proxies, err := parseProxies(getenv("MARKETSYNC_TRUSTED_PROXIES"))
	if err != nil {
		return usageError("serve: MARKETSYNC_TRUSTED_PROXIES: %v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return usageError("serve: --addr: %v", err)
	}
	defer ln.Close()

	log := newLogger(getenv, stderr, slog.LevelInfo, false)
	par := *workers
	if par == 0 {
		par = -1 // serve only
	}
	cfg, err := appConfig(getenv, log, engine.Config{Parallelism: par, Adopt: true}, *source)
	if err != nil {
		return err
	}
	if cfg.Schedule, err = scheduleConfig(getenv); err != nil {
		return err
	}
	cfg.Wait, cfg.Listener, cfg.Zone, cfg.CORSOrigins = true, ln, zone, origins
	cfg.GenerateAdmin, cfg.TrustedProxies = *initAdmin, proxies
	a, err := newApp(ctx, cfg)
	if ctx.Err() != nil {
		return nil // stopped while waiting for the database
	}
	if err != nil {
		return err
	}
	defer a.Close()
	if a.GeneratedPassword != "" {
		// Shown once, on the terminal, never logged: only its hash is stored.
		fmt.Fprintf(stderr, "\n  first account created:  user admin  password %s\n  (shown only now; change it at /account)\n\n", a.GeneratedPassword)
	}
	return a.Run(ctx)
}

// parseProxies reads MARKETSYNC_TRUSTED_PROXIES: comma-separated IPs or CIDRs.
func parseProxies(list string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR range (e.g. 127.0.0.1,10.0.0.0/8)", p)
		}
		out = append(out, p)
	}
	return out, nil
}
