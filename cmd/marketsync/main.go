// Command marketsync keeps a PostgreSQL warehouse of Chinese A-share market data in sync,
// one trading day at a time, and shows every batch live in the browser.
//
//	marketsync serve   [--addr :8000]            web app, JSON API and workers
//	marketsync worker                             workers only (more processes share the work)
//	marketsync sync    --start D --end D [...]    run one batch from the terminal
//	marketsync user    add NAME --role admin        accounts; token add USER for scripts
//	marketsync migrate                            apply the database migrations
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitError carries the process's exit code: 1 when days failed, 2 for bad input,
// 130 after Ctrl-C.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageError is bad input: one line on stderr, exit 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "marketsync:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "marketsync:", err)
	return 1
}

const usage = `marketsync keeps a PostgreSQL warehouse of A-share market data in sync.

Usage:
  marketsync serve   [--addr :8000] [--workers 2] [--tz Asia/Shanghai] [--source demo]
                                                    web app, JSON API and workers
  marketsync worker  [--workers 2] [--source demo]  workers only, sharing the database's queue
  marketsync sync    --start YYYY-MM-DD --end YYYY-MM-DD [--dataset daily,adj_factor,daily_basic]
                     [--source demo] [--force] [--json] [--priority 1-4] [--workers 2] [--tz Asia/Shanghai]
  marketsync verify  --start YYYY-MM-DD --end YYYY-MM-DD [--dataset daily] [--source demo]
                                                    compare loaded days with the source again
  marketsync calendar refresh [--source demo] [--until YYYY-MM-DD]
                                                    grow the trade calendar from the source's
  marketsync stocks refresh [--source demo]         replace the stock list with the source's
  marketsync user add NAME [--role viewer|operator|admin]
                                                    add an account (password from the terminal or stdin)
  marketsync user password NAME                     set an account's password (its sessions end)
  marketsync user list                              list the accounts
  marketsync token add USER [--role ROLE] [--name N]
                                                    make an API token for USER (printed once)
  marketsync token list [USER] | token revoke ID    list or revoke API tokens
  marketsync migrate                                apply the database migrations

Environment:
  DATABASE_URL                PostgreSQL (default postgres://postgres@127.0.0.1:5432/marketsync)
  MARKETSYNC_SOURCE           the default source when --source is not given: demo, tushare,
                              baostock or stockguru
  TUSHARE_TOKEN               the Tushare Pro token; the tushare source is there when it is set
  TUSHARE_URL                 Tushare's endpoint (default http://api.tushare.pro)
  TUSHARE_RATE_LIMITS         calls per minute per api, e.g. daily=500,adj_factor=200
  BAOSTOCK_ADDR               Baostock's host:port (default public-api.baostock.com:10030); when set,
                              the baostock source is offered beside the default
  STOCKGURU_DATABASE_URL      the old system's database: the stockguru source reads daily_stock_data
  MARKETSYNC_DEMO_LATENCY     the demo source's delay per day fetched, e.g. 200ms
  MARKETSYNC_DEMO_FAIL_RATE   share of demo fetches that fail transiently, 0 to 1
  MARKETSYNC_MAX_BATCH_DAYS   the most calendar days one batch may cover (default 7305, 20 years)
  MARKETSYNC_LOG_FORMAT       json or text (default: text on a terminal, else json)
  MARKETSYNC_SCHEDULE         serve, worker: daily schedules seeded into an empty schedules table,
                              DATASET[/SOURCE]@HH:MM China time, comma-separated (default daily@17:30
                              on the default source); off: this process fires no schedule
  MARKETSYNC_CORS_ORIGINS     serve: other sites whose pages may call the JSON API, comma-separated,
                              e.g. http://localhost:3000,http://127.0.0.1:3000 (the old sync-status page)
  MARKETSYNC_ANONYMOUS        serve: what visitors who are not signed in may do: viewer or operator
                              (default: nothing; they are sent to the login page)
  MARKETSYNC_ADMIN_PASSWORD   serve: on a database without accounts, create "admin" with this password
  MARKETSYNC_SESSION_IDLE     serve: sign a browser out after this long unused (default 12h)
  MARKETSYNC_TRUSTED_PROXIES  serve: reverse proxies (IPs, CIDRs) whose X-Real-IP names the client
  MARKETSYNC_METRICS_TOKEN    serve: a bearer token /metrics accepts besides a viewer's API token
`

// run is the whole program, with its outside world passed in (stdin is the process's).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runIO(ctx, args, getenv, os.Stdin, stdout, stderr)
}

// runIO is run with stdin passed in too (the user commands read passwords from it).
func runIO(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{code: 2}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "worker":
		return runWorker(ctx, rest, getenv, stderr)
	case "sync":
		return runSync(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "calendar":
		return runCalendar(ctx, rest, getenv, stdout, stderr)
	case "stocks":
		return runStocks(ctx, rest, getenv, stdout, stderr)
	case "verify":
		return runVerify(ctx, rest, getenv, stdout, stderr)
	case "user":
		return runUser(ctx, rest, getenv, stdin, stdout, stderr)
	case "token":
		return runToken(ctx, rest, getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError("unknown command %q (try: serve, worker, sync, user, token, migrate)", cmd)
}
