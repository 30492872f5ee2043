package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/marketsync/marketsync/internal/app"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
)

// openTool builds the app for a one-off command: no workers, no HTTP, errors on stderr.
func openTool(ctx context.Context, getenv func(string) string, stderr io.Writer, source string) (*app.App, error) {
	log := newLogger(getenv, stderr, slog.LevelWarn, true)
	cfg, err := appConfig(getenv, log, engine.Config{Parallelism: -1}, source)
	if err != nil {
		return nil, err
	}
	return app.New(ctx, cfg)
}

// runCalendar is `marketsync calendar refresh [--source NAME] [--until YYYY-MM-DD]`: it
// grows the trade calendar from the source's, through until (default: 400 days ahead).
func runCalendar(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "refresh" {
		return usageError("calendar: the only subcommand is refresh (marketsync calendar refresh [--source NAME] [--until YYYY-MM-DD])")
	}
	fs := flag.NewFlagSet("calendar refresh", flag.ContinueOnError)
	source := sourceFlag(fs)
	untilFlag := fs.String("until", "", "last day to know, YYYY-MM-DD (default: 400 days from today)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	until := market.Today(time.Now()).AddDate(0, 0, 400)
	if *untilFlag != "" {
		d, err := market.ParseDate(*untilFlag)
		if err != nil {
			return usageError("calendar refresh: --until: %v", err)
		}
		until = d
	}
	a, err := openTool(ctx, getenv, stderr, *source)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.Engine.RefreshCalendar(ctx, until)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trade calendar known from %s through %s (%d days added from %s)\n",
		a.Calendar.First().Format(market.DateLayout), a.Calendar.Last().Format(market.DateLayout), n, a.Source.Name())
	return nil
}

// runStocks is `marketsync stocks refresh [--source NAME]`: it replaces the stock list
// (stock_basic) with the source's.
func runStocks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "refresh" {
		return usageError("stocks: the only subcommand is refresh (marketsync stocks refresh [--source NAME])")
	}
	fs := flag.NewFlagSet("stocks refresh", flag.ContinueOnError)
	source := sourceFlag(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	a, err := openTool(ctx, getenv, stderr, *source)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.Engine.RefreshStocks(ctx)
	if market.IsInputError(err) {
		return usageError("stocks refresh: %v", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stock list replaced: %d stocks from %s\n", n, a.Source.Name())
	return nil
}

// runVerify is `marketsync verify --source NAME --start D --end D [--dataset ...]`: it
// fetches every loaded day again and compares it with the warehouse, one line a day;
// exit 1 when any differs.
func runVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	source := sourceFlag(fs)
	var datasets listFlag
	fs.Var(&datasets, "dataset", "dataset to verify (repeatable or comma-separated; default daily)")
	start := fs.String("start", "", "first day, YYYY-MM-DD (required)")
	end := fs.String("end", "", "last day, YYYY-MM-DD (default: --start)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	first, last, err := parseRange("verify", *start, *end)
	if err != nil {
		return err
	}
	names, err := market.NormalizeDatasets(datasets)
	if err != nil {
		return usageError("verify: --dataset: %v", err)
	}
	a, err := openTool(ctx, getenv, stderr, *source)
	if err != nil {
		return err
	}
	defer a.Close()
	checked := 0
	differ, err := a.Engine.Verify(ctx, names, first, last, func(v market.Verdict) {
		checked++
		if v.OK {
			fmt.Fprintf(stdout, "%s %s OK %d rows\n", v.Date, v.Dataset, v.Warehouse.Rows)
		} else {
			fmt.Fprintf(stdout, "%s %s DIFFERS: %s\n", v.Date, v.Dataset, v.Note)
		}
	})
	if market.IsInputError(err) {
		return usageError("verify: %v", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d loaded days verified against %s, %d differ\n", checked, a.Source.Name(), differ)
	if differ > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// parseRange reads --start and --end (default: --start) of command cmd.
func parseRange(cmd, start, end string) (time.Time, time.Time, error) {
	if start == "" {
		return time.Time{}, time.Time{}, usageError("%s: --start is required (YYYY-MM-DD)", cmd)
	}
	if end == "" {
		end = start
	}
	first, err := market.ParseDate(start)
	if err != nil {
		return first, first, usageError("%s: --start: %v", cmd, err)
	}
	last, err := market.ParseDate(end)
	if err != nil {
		return first, last, usageError("%s: --end: %v", cmd, err)
	}
	if last.Before(first) {
		return first, last, usageError("%s: end date %s is before start date %s", cmd, end, start)
	}
	return first, last, nil
}
