package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/app"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
)

// listFlag collects a repeatable or comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// syncRun is what `marketsync sync` was asked to do, checked.
type syncRun struct {
	source  string
	spec    market.Spec
	workers int
	asJSON  bool
	zone    *time.Location
}

// parseSync reads and checks sync's flags, all before touching the database: bad input
// creates nothing.
func parseSync(args []string) (*syncRun, error) {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	var datasets listFlag
	fs.Var(&datasets, "dataset", "dataset to load (repeatable or comma-separated; default daily)")
	start := fs.String("start", "", "first day, YYYY-MM-DD (required)")
	end := fs.String("end", "", "last day, YYYY-MM-DD (default: --start)")
	force := fs.Bool("force", false, "reload days that are already synced")
	asJSON := fs.Bool("json", false, "print the final snapshot as JSON on stdout")
	priority := fs.Int("priority", market.PriorityDefault, "1 (urgent) to 4 (low)")
	workers := fs.Int("workers", 2, "days loaded at once")
	tz := fs.String("tz", "Asia/Shanghai", "time zone in which times are shown")
	source := sourceFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if *start == "" {
		return nil, usageError("sync: --start is required (YYYY-MM-DD)")
	}
	if *end == "" {
		end = start
	}
	startDate, err := market.ParseDate(*start)
	if err != nil {
		return nil, usageError("sync: --start: %v", err)
	}
	endDate, err := market.ParseDate(*end)
	if err != nil {
		return nil, usageError("sync: --end: %v", err)
	}
	names, err := market.NormalizeDatasets(datasets)
	if err != nil {
		return nil, usageError("sync: --dataset: %v", err)
	}
	if *workers < 1 {
		return nil, usageError("sync: --workers must be at least 1")
	}
	zone, err := time.LoadLocation(*tz)
	if err != nil {
		return nil, usageError("sync: --tz: unknown time zone %q", *tz)
	}
	if *priority < market.PriorityUrgent || *priority > market.PriorityLow {
		return nil, usageError("sync: --priority must be 1 (urgent) to 4 (low)")
	}
	if endDate.Before(startDate) {
		return nil, usageError("sync: end date %s is before start date %s", *end, *start)
	}
	return &syncRun{
		source: *source,
		spec: market.Spec{Datasets: names, Start: startDate, End: endDate, Force: *force, Priority: *priority,
			CreatedBy: market.OriginCLI, CreatedFrom: hostname()},
		workers: *workers, asJSON: *asJSON, zone: zone,
	}, nil
}

// runSync runs one batch through the engine, on a queue of its own so this process
// works only its own batch, and shows its progress on stderr.
func runSync(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	r, err := parseSync(args)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if getenv("MARKETSYNC_LOG_LEVEL") == "info" {
		level = slog.LevelInfo
	}
	log := newLogger(getenv, stderr, level, true)
	queue := "cli_" + randomHex(6)
	cfg, err := appConfig(getenv, log, engine.Config{Queue: queue, Parallelism: r.workers}, r.source)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	// The workers outlive Ctrl-C: they must roll the running days back.
	runCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	workersDone := make(chan error, 1)
	go func() { workersDone <- a.Engine.Run(runCtx) }()
	defer func() {
		stopWorkers()
		<-workersDone
	}()
	select {
	case <-a.Engine.Ready():
	case err := <-workersDone:
		workersDone <- err // for the deferred wait
		return fmt.Errorf("starting workers: %w", err)
	case <-ctx.Done():
		return &exitError{code: 130}
	}

	// Once created, the batch is cancelled on Ctrl-C like any other: Start itself runs
	// to its end, so a Ctrl-C cannot leave a batch behind that nobody watches.
	snap, err := a.Engine.Start(context.WithoutCancel(ctx), r.spec)
	if err != nil {
		if market.IsInputError(err) {
			return usageError("sync: %v", err)
		}
		return err
	}
	fmt.Fprintf(stderr, "batch %s: %d days (%d trading) of %s\n", snap.TaskID, snap.Total, snap.TradingDays, strings.Join(r.spec.Datasets, ", "))
	bar := &progress{w: stderr, tty: isTerminal(stderr), zone: r.zone}
	final, interrupted, err := follow(ctx, a.Engine, snap.TaskID, workersDone, bar)
	if err != nil {
		return err
	}
	bar.done(final)
	if r.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(final.In(r.zone)); err != nil {
			return err
		}
	}
	return syncExit(final, interrupted)
}

// follow shows the batch's progress until it finishes. On Ctrl-C (ctx ends) it cancels
// the batch and follows it until its running days have rolled back; interrupted says
// so. The workers stopping on their own (a lost database) ends it with an error;
// workersDone is their result, put back for the caller.
func follow(ctx context.Context, eng *engine.Engine, taskID string, workersDone chan error, bar *progress) (final *market.Snapshot, interrupted bool, err error) {
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	go func() {
		select {
		case err := <-workersDone:
			workersDone <- err
			stopWatching()
		case <-watchCtx.Done():
		}
	}()
	final, err = eng.Watch(watchCtx, taskID, time.Second, bar.show)
	if err != nil && ctx.Err() == nil && watchCtx.Err() != nil {
		return nil, false, errors.New("the workers stopped before the batch finished")
	}
	if !errors.Is(err, context.Canceled) {
		return final, false, err
	}
	bar.clear()
	fmt.Fprintln(bar.w, "interrupted: cancelling the batch (running days roll back)...")
	bg := context.WithoutCancel(ctx)
	if cerr := eng.Cancel(bg, taskID, market.Actor{By: market.OriginCLI, From: hostname()}); cerr != nil && !errors.Is(cerr, market.ErrConflict) {
		return nil, true, cerr
	}
	waitCtx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	final, err = eng.Watch(waitCtx, taskID, time.Second, bar.show)
	return final, true, err
}

// syncExit is the exit of a sync that ended with final: 130 after Ctrl-C, 1 when days
// failed, the batch failed or was cancelled by someone else.
func syncExit(final *market.Snapshot, interrupted bool) error {
	switch {
	case interrupted:
		return &exitError{code: 130}
	case final.Status == market.BatchFailed || final.Failed > 0:
		return &exitError{code: 1}
	case final.Status == market.BatchCancelled:
		return &exitError{code: 1, err: errors.New("the batch was cancelled")}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// progress draws the snapshot on stderr: a live bar on a terminal, else plain lines
// whenever the count changes.
type progress struct {
	w    io.Writer
	tty  bool
	zone *time.Location
	last int
	drew bool
}

func (p *progress) show(s *market.Snapshot) {
	if st := s.Stage; st != nil && !st.Ready && !s.Finished() {
		p.showStage(s, st)
		return
	}
	if p.tty {
		const width = 30
		filled := int(s.ProgressPercent / 100 * width)
		bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
		fmt.Fprintf(p.w, "\r\033[K%s %5.1f%% %d/%d trading days  loaded %d  already %d  failed %d  %s rows %s",
			bar, s.ProgressPercent, done(s), s.TradingDays, s.Success, s.AlreadyLoaded, s.Failed,
			formatCount(s.RowsLoaded), p.eta(s))
		p.drew = true
		return
	}
	if done(s) == p.last && !s.Finished() {
		return
	}
	p.last = done(s)
	fmt.Fprintf(p.w, "[%d/%d] %.1f%% loaded=%d already=%d failed=%d closed=%d rows=%d %s| %s\n",
		done(s), s.TradingDays, s.ProgressPercent, s.Success, s.AlreadyLoaded, s.Failed, s.Closed, s.RowsLoaded, p.eta(s), s.Message)
}

// showStage draws the fetch of a range source's stocks: a line per hundred stocks off a
// terminal.
func (p *progress) showStage(s *market.Snapshot, st *market.StageProgress) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[Kfetching stocks %d/%d %s", st.StocksFetched, st.StocksTotal, p.eta(s))
		p.drew = true
		return
	}
	if step := -1 - st.StocksFetched/100; step != p.last {
		p.last = step
		fmt.Fprintf(p.w, "[stocks %d/%d] %s| %s\n", st.StocksFetched, st.StocksTotal, p.eta(s), s.Message)
	}
}

// done counts the trading days' work done: loaded, found loaded already, or failed.
func done(s *market.Snapshot) int { return s.Success + s.AlreadyLoaded + s.Failed }

func (p *progress) clear() {
	if p.drew {
		fmt.Fprint(p.w, "\r\033[K")
		p.drew = false
	}
}

func (p *progress) done(s *market.Snapshot) {
	p.clear()
	fmt.Fprintln(p.w, s.Message)
	for _, e := range s.Errors {
		fmt.Fprintf(p.w, "  %s %s: %s\n", e.Date, e.Dataset, e.Error)
	}
}

func (p *progress) eta(s *market.Snapshot) string {
	if s.EstimatedCompletion == nil {
		return ""
	}
	left := time.Until(*s.EstimatedCompletion).Round(time.Second)
	return fmt.Sprintf(" eta %s (%s left) ", s.EstimatedCompletion.In(p.zone).Format("15:04:05"), max(left, 0))
}

func formatCount(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
