package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// DefaultMaxBatchDays caps a batch at twenty years of calendar days.
const DefaultMaxBatchDays = 20*365 + 5

// Publisher is what a Source may say about when a trading day's data of a dataset
// appears upstream. A source that does not say is taken to publish at 17:00 exchange
// time, when the day's daily data is out everywhere.
type Publisher interface {
	PublishedAt(ds market.Dataset, day time.Time) time.Time
}

// plan is a batch decided from a spec before anything is written: its days (closed days
// already skipped), how many of them trade, and who asked.
type plan struct {
	source     Source
	datasets   []string
	start, end time.Time
	days       []store.Day
	trading    int
	priority   int
	createdBy  market.Origin
}

// plan checks spec and decides the batch's days. Every mistake is an input error that
// names the days at fault and why: dates outside the calendar, chosen days that do not
// trade, trading days whose data is not published yet, a batch over MaxBatchDays.
func (e *Engine) plan(spec market.Spec) (plan, error) {
	p := plan{createdBy: spec.CreatedBy, priority: spec.Priority}
	var err error
	if p.source, err = e.source(spec.Source); err != nil {
		return p, err
	}
	if p.datasets, err = market.NormalizeDatasets(spec.Datasets); err != nil {
		return p, err
	}
	for _, ds := range p.datasets {
		if !slices.Contains(p.source.Datasets(), ds) {
			return p, fmt.Errorf("%w: the %s source does not serve %s (it serves %s)", market.ErrUnknownDataset,
				p.source.Name(), ds, strings.Join(p.source.Datasets(), ", "))
		}
	}
	if p.priority == 0 {
		p.priority = market.PriorityDefault
	}
	if err := market.CheckPriority(p.priority); err != nil {
		return p, err
	}
	if p.createdBy == "" {
		p.createdBy = market.OriginAPI
	}
	calendarDays, err := e.chosenDays(spec)
	if err != nil {
		return p, err
	}
	p.start, p.end = calendarDays[0], calendarDays[len(calendarDays)-1]
	if n := len(calendarDays); n > e.cfg.MaxBatchDays {
		return p, &market.SizeError{Days: n, Max: e.cfg.MaxBatchDays}
	}
	if err := e.checkPublished(p.source, p.datasets, calendarDays); err != nil {
		return p, err
	}
	now := e.cfg.Now()
	for _, d := range calendarDays {
		open, _ := e.cal.IsTradingDay(d) // checked by chosenDays
		for _, ds := range p.datasets {
			day := store.Day{Dataset: ds, Day: d, Trading: open, Status: market.DayPending, Gen: 1}
			if open {
				p.trading++
			} else {
				day.Status, day.FinishedAt = market.DaySkipped, &now
			}
			p.days = append(p.days, day)
		}
	}
	return p, nil
}

// chosenDays returns the calendar days of the batch in order: every day of the range, or
// the chosen days, each of which must trade.
func (e *Engine) chosenDays(spec market.Spec) ([]time.Time, error) {
	if len(spec.Days) == 0 {
		if spec.Start.IsZero() || spec.End.IsZero() {
			return nil, fmt.Errorf("%w: start and end dates are required", market.ErrInvalidDate)
		}
		if err := e.cal.CheckRange(spec.Start, spec.End); err != nil {
			return nil, err
		}
		var days []time.Time
		for d := spec.Start; !d.After(spec.End); d = d.AddDate(0, 0, 1) {
			days = append(days, d)
		}
		return days, nil
	}
	days := slices.Clone(spec.Days)
	slices.SortFunc(days, time.Time.Compare)
	days = slices.CompactFunc(days, time.Time.Equal)
	var closed []time.Time
	for _, d := range days {
		open, err := e.cal.IsTradingDay(d)
		if err != nil {
			return nil, err
		}
		if !open {
			closed = append(closed, d)
		}
	}
	if len(closed) > 0 {
		return nil, &market.DaysError{Err: market.ErrNotTradingDay, Days: closed}
	}
	return days, nil
}

// checkPublished refuses trading days whose data the source has not published yet.
func (e *Engine) checkPublished(src Source, datasets []string, days []time.Time) error {
	now := e.cfg.Now()
	var late []time.Time
	var when time.Time
	for _, d := range days {
		if open, _ := e.cal.IsTradingDay(d); !open {
			continue
		}
		for _, name := range datasets {
			ds, _ := market.LookupDataset(name)
			if at := publishedAt(src, ds, d); at.After(now) {
				late, when = append(late, d), at
				break
			}
		}
	}
	if len(late) == 0 {
		return nil
	}
	latest, _ := e.latestDay(src, datasets)
	return &market.DaysError{Err: market.ErrNotPublished, Days: late, Latest: latest,
		PublishedAt: when.In(market.ExchangeZone).Format("15:04")}
}

// publishedAt is when src publishes ds's data of day.
func publishedAt(src Source, ds market.Dataset, day time.Time) time.Time {
	if p, ok := src.(Publisher); ok {
		return p.PublishedAt(ds, day)
	}
	return market.PublishedAt(day, 17, 0)
}

// LatestDay is the latest trading day whose data of every dataset named is published by
// now (the start form's default date); false when there is none in the calendar.
func (e *Engine) LatestDay(datasets []string) (time.Time, bool) {
	return e.latestDay(e.src, datasets)
}

// latestDay is LatestDay of src.
func (e *Engine) latestDay(src Source, datasets []string) (time.Time, bool) {
	if names, err := market.NormalizeDatasets(datasets); err == nil {
		datasets = names // none: the default dataset
	}
	now := e.cfg.Now()
	d, err := e.cal.LastTradingDay(market.Today(now))
	for tries := 0; err == nil && tries < 10; tries++ {
		ready := true
		for _, name := range datasets {
			if ds, err := market.LookupDataset(name); err == nil && publishedAt(src, ds, d).After(now) {
				ready = false
			}
		}
		if ready {
			return d, true
		}
		d, err = e.cal.Previous(d)
	}
	return time.Time{}, false
}

// knowCalendarThrough grows the calendar when spec reaches past what it knows: from
// PostgreSQL (another process grew it) or the source. It never fails a start: a range
// still unknown after it is refused by plan, saying how far the calendar is known.
func (e *Engine) knowCalendarThrough(ctx context.Context, spec market.Spec) {
	end := spec.End
	for _, d := range spec.Days {
		if d.After(end) {
			end = d
		}
	}
	if !end.After(e.cal.Last()) {
		return
	}
	refresh, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := e.RefreshCalendar(refresh, end.Add(calendarAhead)); err != nil {
		e.log.Warn("growing the trade calendar for a batch", "err", err, "known_through", dateString(e.cal.Last()))
	}
}

// Estimate says what spec would start and how long it would take at the recent pace of
// days loaded, spread over this engine's workers; the spec's mistakes are the same errors
// Start would return.
func (e *Engine) Estimate(ctx context.Context, spec market.Spec) (market.Estimate, error) {
	e.knowCalendarThrough(ctx, spec)
	p, err := e.plan(spec)
	if err != nil {
		return market.Estimate{}, err
	}
	est := market.Estimate{Days: len(p.days) / len(p.datasets), TradingDays: p.trading}
	per, err := store.RecentDayTime(ctx, e.pool)
	if err != nil {
		return est, fmt.Errorf("estimating: %w", err)
	}
	est.Duration = per * time.Duration(p.trading) / time.Duration(max(e.Parallelism(), 1))
	return est, nil
}
