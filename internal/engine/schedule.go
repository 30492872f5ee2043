package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// ScheduleObserver hears what the daily schedules do, once across every process that
// shares the database: alerts (webhooks) implement it. Its calls come after the firing
// has committed, from the scheduler's loop: they should return quickly.
type ScheduleObserver interface {
	// ScheduleFired: a firing started a batch (Outcome ScheduleStarted, TaskID) or found
	// every published day loaded (ScheduleNothingToDo).
	ScheduleFired(ctx context.Context, run market.ScheduleRun)
	// ScheduleSkipped: a firing started no batch: the one it started before still runs
	// (ScheduleSkipped, TaskID that one) or the start was refused (ScheduleFailed,
	// Message why).
	ScheduleSkipped(ctx context.Context, run market.ScheduleRun)
	// ScheduleEnded: a batch a schedule started has ended; BatchStatus and FailedDays
	// say how (completed with no failed day is the good end).
	ScheduleEnded(ctx context.Context, run market.ScheduleRun)
}

// ScheduleConfig tunes a Scheduler. Zero values take the defaults noted on each field.
type ScheduleConfig struct {
	// Seeds are the schedules the environment asks for: Run adds them when there are no
	// schedules at all (after that the settings page decides).
	Seeds []market.ScheduleSeed
	// Interval is how often Run checks for schedules due (default a minute).
	Interval time.Duration
	// Observer, when set, hears every firing and the end of every scheduled batch
	// (default: the webhooks hear runs that did not start or ended badly).
	Observer ScheduleObserver
	// Now is the clock (default: the engine's).
	Now func() time.Time
}

// Scheduler fires the daily schedules kept in PostgreSQL: at each one's time on each
// trading day it starts one batch of every trading day since the last one loaded. Every
// process may run one; each firing happens once, in the process that claims it, in the
// transaction that starts its batch.
type Scheduler struct {
	e   *Engine
	cfg ScheduleConfig
}

// NewScheduler builds the scheduler of e's schedules.
func NewScheduler(e *Engine, cfg *ScheduleConfig) *Scheduler {
	s := &Scheduler{e: e}
	if cfg != nil {
		s.cfg = *cfg
	}
	if s.cfg.Interval <= 0 {
		s.cfg.Interval = time.Minute
	}
	if s.cfg.Now == nil {
		s.cfg.Now = e.cfg.Now
	}
	if s.cfg.Observer == nil {
		s.cfg.Observer = scheduleAlerts{e}
	}
	return s
}

// Run seeds the schedules (see ScheduleConfig.Seeds), then checks at once and every
// Interval until ctx ends. Its failures (the database away) are logged and tried again.
func (s *Scheduler) Run(ctx context.Context) error {
	seeded := len(s.cfg.Seeds) == 0
	for {
		if !seeded {
			n, err := s.Seed(ctx)
			if seeded = err == nil; seeded && n > 0 {
				s.e.log.Info("schedules seeded from the environment", "schedules", n)
			} else if err != nil && ctx.Err() == nil {
				s.e.log.Warn("seeding the schedules", "err", err)
			}
		}
		if _, err := s.Check(ctx); err != nil && ctx.Err() == nil {
			s.e.log.Warn("checking the schedules", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.cfg.Interval):
		}
	}
}

// CheckSeeds reports the first seed whose source is not configured here or does not
// serve its dataset (an input error): a process refuses to start with it.
func (s *Scheduler) CheckSeeds() error {
	for _, seed := range s.cfg.Seeds {
		if _, err := s.input(seed.Dataset, seed.Source); err != nil {
			return fmt.Errorf("schedule %s@%s: %w", seed.Dataset, seed.At, err)
		}
	}
	return nil
}

// Seed adds the seeds when there are no schedules at all and returns how many it added.
// A new schedule owes no firing before its next time.
func (s *Scheduler) Seed(ctx context.Context) (int, error) {
	var news []store.NewSchedule
	for _, seed := range s.cfg.Seeds {
		src, err := s.input(seed.Dataset, seed.Source)
		if err != nil {
			return 0, err
		}
		in := market.ScheduleInput{Dataset: seed.Dataset, Source: src, At: seed.At, Enabled: true}
		news = append(news, store.NewSchedule{ScheduleInput: in, Due: s.due(seed.At)})
	}
	return store.SeedSchedules(ctx, s.e.pool, news, string(market.OriginSchedule)+" env")
}

// input checks a schedule's dataset and source (the default when empty) and returns the
// source's name.
func (s *Scheduler) input(dataset, source string) (string, error) {
	if _, err := market.LookupDataset(dataset); err != nil {
		return "", err
	}
	src, err := s.e.source(source)
	if err != nil {
		return "", err
	}
	if !slices.Contains(src.Datasets(), dataset) {
		return "", fmt.Errorf("%w: the %s source does not serve %s (it serves %s)", market.ErrUnknownDataset,
			src.Name(), dataset, strings.Join(src.Datasets(), ", "))
	}
	return src.Name(), nil
}

// due is the trading day whose firing at at is the latest passed, nil when none is near.
func (s *Scheduler) due(at market.TimeOfDay) *time.Time {
	if d, ok := market.DueDay(s.cfg.Now(), at, s.e.cal); ok {
		return &d
	}
	return nil
}

// Schedules lists every schedule with its next run.
func (s *Scheduler) Schedules(ctx context.Context) ([]market.Schedule, error) {
	list, err := store.Schedules(ctx, s.e.pool)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	for i := range list {
		if sch := &list[i]; sch.Enabled {
			if next, ok := market.NextRun(now, sch.At, sch.LastDay, s.e.cal); ok {
				sch.NextRun = &next
			}
		}
	}
	return list, nil
}

// SaveSchedule adds the schedule of in's dataset and source, or changes its time and
// whether it is enabled; who made the change is recorded. A dataset the source does not
// serve, or a source not configured here, is an input error and changes nothing. A new
// schedule first fires at its next time; one enabled again fires at the next check when
// it missed a firing, catching up.
func (s *Scheduler) SaveSchedule(ctx context.Context, in market.ScheduleInput, who market.Actor) (*market.Schedule, error) {
	src, err := s.input(in.Dataset, in.Source)
	if err != nil {
		return nil, err
	}
	in.Source = src
	sch, err := store.SaveSchedule(ctx, s.e.pool, in, s.due(in.At), who.String())
	if err != nil {
		return nil, err
	}
	s.e.log.Info("schedule saved", "dataset", sch.Dataset, "source", sch.Source, "at", sch.At.String(),
		"enabled", sch.Enabled, "by", who.String())
	return sch, nil
}

// DeleteSchedule removes a schedule: it fires no more (a batch it started runs on).
func (s *Scheduler) DeleteSchedule(ctx context.Context, id int64, who market.Actor) (*market.Schedule, error) {
	sch, err := store.DeleteSchedule(ctx, s.e.pool, id)
	if err != nil {
		return nil, err
	}
	s.e.log.Info("schedule deleted", "dataset", sch.Dataset, "source", sch.Source, "by", who.String())
	return sch, nil
}

// Check reports the ends of scheduled batches to the observer, fires every enabled
// schedule that owes a firing (unless another process is firing it), and returns the
// firings it made.
func (s *Scheduler) Check(ctx context.Context) ([]market.ScheduleRun, error) {
	// Ends first: a firing makes its new batch the one whose end is awaited.
	ended, err := store.ReportEndedSchedules(ctx, s.e.pool)
	if err != nil {
		return nil, err
	}
	if s.cfg.Observer != nil {
		for _, run := range ended {
			s.cfg.Observer.ScheduleEnded(ctx, run)
		}
	}
	list, err := store.Schedules(ctx, s.e.pool)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	var runs []market.ScheduleRun
	for _, sch := range list {
		if _, owed := s.owed(sch, now); !owed {
			continue
		}
		run, err := s.fire(ctx, sch.ID)
		if err != nil {
			return runs, fmt.Errorf("firing the schedule of %s from %s: %w", sch.Dataset, sch.Source, err)
		}
		if run != nil {
			runs = append(runs, *run)
			s.report(ctx, *run)
		}
	}
	return runs, nil
}

// owed returns the trading day sch is due on and whether it owes that firing.
func (s *Scheduler) owed(sch market.Schedule, now time.Time) (time.Time, bool) {
	due, ok := market.DueDay(now, sch.At, s.e.cal)
	return due, sch.Enabled && ok && (sch.LastDay == nil || sch.LastDay.Before(due))
}

// fire claims schedule id's firing and, in the same transaction, starts its batch and
// records what it did. It returns nil when there was nothing to claim: another process
// holds or has made the firing, or the schedule was changed meanwhile.
func (s *Scheduler) fire(ctx context.Context, id int64) (*market.ScheduleRun, error) {
	var run *market.ScheduleRun
	var started *startedBatch
	err := s.e.inTx(ctx, func(tx pgx.Tx) error {
		run, started = nil, nil
		sch, ok, err := store.LockSchedule(ctx, tx, id)
		if err != nil || !ok {
			return err
		}
		now := s.cfg.Now()
		due, owed := s.owed(*sch, now)
		if !owed {
			return nil
		}
		f, err := s.decide(ctx, tx, *sch)
		if err != nil {
			return err
		}
		r, b, err := s.apply(ctx, tx, *sch, due, now, f)
		run, started = &r, b
		return err
	})
	if err != nil {
		return nil, err
	}
	if started != nil {
		s.e.logStarted(started.batch, started.plan, started.spec)
	}
	return run, nil
}

// firing is what a schedule's firing is to do: start spec, or record why not.
type firing struct {
	outcome market.ScheduleOutcome
	message string
	spec    market.Spec
}

// decide says what sch's firing does now: skip while the batch it started last runs;
// else start one batch from the trading day after the last one loaded (today's latest
// day ready when none is) to the latest trading day whose data is out, or nothing when
// that is loaded already.
func (s *Scheduler) decide(ctx context.Context, tx pgx.Tx, sch market.Schedule) (firing, error) {
	if sch.LastTaskID != "" && sch.LastBatchStatus != "" && sch.LastBatchStatus.Active() {
		return firing{outcome: market.ScheduleSkipped,
			message: fmt.Sprintf("previous batch %s still %s", sch.LastTaskID, sch.LastBatchStatus)}, nil
	}
	src, err := s.e.source(sch.Source)
	if err != nil {
		return firing{outcome: market.ScheduleFailed, message: err.Error()}, nil
	}
	latest, ok := s.e.latestDay(src, []string{sch.Dataset})
	if !ok {
		return firing{outcome: market.ScheduleNothingToDo, message: "no trading day published in the calendar"}, nil
	}
	start := latest
	last, loaded, err := store.LastLoaded(ctx, tx, sch.Dataset)
	if err != nil {
		return firing{}, err
	}
	if loaded {
		if !last.Before(latest) {
			return firing{outcome: market.ScheduleNothingToDo, message: "loaded through " + dateString(last)}, nil
		}
		days, err := s.e.cal.TradingDays(last.AddDate(0, 0, 1), latest)
		if err != nil || len(days) == 0 {
			return firing{outcome: market.ScheduleNothingToDo, message: "loaded through " + dateString(last)}, nil
		}
		start = days[0]
	}
	if oldest := latest.AddDate(0, 0, 1-s.e.cfg.MaxBatchDays); start.Before(oldest) {
		start = oldest // a batch may not be longer; older days are the coverage page's to fill
	}
	return firing{outcome: market.ScheduleStarted, spec: market.Spec{
		Source: src.Name(), Datasets: []string{sch.Dataset}, Start: start, End: latest, CreatedBy: market.OriginSchedule,
	}}, nil
}

// startedBatch is a batch a firing created, logged once the firing commits.
type startedBatch struct {
	batch *store.Batch
	plan  plan
	spec  market.Spec
}

// apply carries out f for sch's firing due on day due, in tx: it starts the batch, if
// any, and records the firing (the claim). A start the engine refuses is recorded as
// failed, with why.
func (s *Scheduler) apply(ctx context.Context, tx pgx.Tx, sch market.Schedule, due, now time.Time, f firing) (market.ScheduleRun, *startedBatch, error) {
	run := market.ScheduleRun{ScheduleID: sch.ID, Dataset: sch.Dataset, Source: sch.Source, Day: due,
		Outcome: f.outcome, Message: f.message, TaskID: sch.LastTaskID}
	var started *startedBatch
	if f.outcome == market.ScheduleStarted {
		p, err := s.e.plan(f.spec) // refuses before anything is written
		if err != nil {
			if !market.IsInputError(err) {
				return run, nil, err
			}
			run.Outcome, run.Message = market.ScheduleFailed, err.Error()
		} else {
			b, err := s.e.create(ctx, tx, p, f.spec)
			if err != nil {
				return run, nil, err
			}
			started = &startedBatch{batch: b, plan: p, spec: f.spec}
			run.TaskID, run.Message = b.TaskID, dateString(p.start)+" → "+dateString(p.end)
		}
	}
	fr := store.Firing{Day: due, At: now, Outcome: run.Outcome, Message: run.Message}
	if started != nil {
		fr.TaskID = run.TaskID
	}
	return run, started, store.RecordFiring(ctx, tx, sch.ID, fr)
}

// report tells the observer about a firing and logs it.
func (s *Scheduler) report(ctx context.Context, run market.ScheduleRun) {
	attrs := []any{"dataset", run.Dataset, "source", run.Source, "day", dateString(run.Day),
		"outcome", run.Outcome, "task_id", run.TaskID, "message", run.Message}
	switch run.Outcome {
	case market.ScheduleStarted, market.ScheduleNothingToDo:
		s.e.log.Info("schedule fired", attrs...)
		if s.cfg.Observer != nil {
			s.cfg.Observer.ScheduleFired(ctx, run)
		}
	default:
		s.e.log.Warn("schedule fired but started no batch", attrs...)
		if s.cfg.Observer != nil {
			s.cfg.Observer.ScheduleSkipped(ctx, run)
		}
	}
}
