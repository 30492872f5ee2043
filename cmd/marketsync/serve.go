package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"
	_ "time/tzdata" // Asia/Shanghai even where the system has no zone database

	"github.com/marketsync/marketsync/handlers"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/live"
	"github.com/marketsync/marketsync/static"
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
	a, err := open(ctx, getenv, log, engine.Config{Parallelism: par, Adopt: true}, true)
	if ctx.Err() != nil {
		return nil // stopped while waiting for the database
	}
	if err != nil {
		return err
	}
	defer a.pool.Close()
	hub, err := live.NewHub(a.pool, &live.HubConfig{Loader: a.engine, Renderer: handlers.Fragments{Zone: zone}, Channel: engine.ProgressChannel}, log)
	if err != nil {
		return err
	}
	app, err := handlers.New(&handlers.Config{
		Batches: a.engine, Calendar: a.cal, Hub: hub, DB: a.pool, Static: static.Files,
		Zone: zone, Logger: log, CORSOrigins: origins,
	})
	if err != nil {
		return err
	}

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	hubDone := make(chan error, 1)
	go func() { hubDone <- hub.Run(ctx) }()
	engineDone := make(chan error, 1)
	go func() { engineDone <- a.engine.Run(ctx) }()
	httpDone := make(chan error, 1)
	go func() { httpDone <- app.Listener(ln) }()
	log.Info(fmt.Sprintf("serving http://%s", displayAddr(ln.Addr())), "addr", ln.Addr().String(), "workers", *workers, "tz", zone.String(), "cors_origins", origins)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-httpDone:
	case runErr = <-engineDone:
	case runErr = <-hubDone:
	}
	log.Info("shutting down")
	stop()
	hub.Shutdown()
	if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
		log.Warn("closing the HTTP server", "err", err)
	}
	if err := <-engineDone; err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return runErr
	}
	log.Info("stopped")
	return nil
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return fmt.Sprintf("localhost:%d", tcp.Port)
		}
	}
	return a.String()
}
