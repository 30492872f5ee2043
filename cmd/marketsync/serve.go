package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"time"
)

func hostname() string {
	h, _ := osHostname()
	return h
}

// runServe serves the web app and runs the workers.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", ":8000", "HOST:PORT to listen on")
	workers := fs.Int("workers", 2, "days loaded at once by this process (0: serve only)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := newLogger(getenv, stderr, slog.LevelInfo)
	par := *workers
	if par == 0 {
		par = -1
	}
	a, err := open(ctx, getenv, log, engineConfig(par))
	if err != nil {
		return err
	}
	defer a.pool.Close()
	srv := &http.Server{Addr: *addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.pool.Ping(r.Context()); err != nil {
			http.Error(w, `{"status":"error"}`, 503)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	})}
	go func() {
		<-ctx.Done()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(c)
	}()
	go srv.ListenAndServe()
	log.Info("serving", "addr", *addr)
	return a.engine.Run(ctx)
}
