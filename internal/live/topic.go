package live

import (
	"bytes"
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/marketsync/marketsync/internal/market"
)

// view is the state behind one topic: it loads the newest state and renders it.
type view interface {
	// refresh loads the newest state; the previous one is kept to compute what changed.
	refresh(ctx context.Context) error
	// loaded reports whether refresh has succeeded at least once.
	loaded() bool
	// render renders the change since the previous refresh, or with full the whole state.
	render(lang string, full bool) ([]byte, error)
}

// topic is one batch's (or the dashboard's) subscribers and the loop that feeds them.
// Only its loop sends to its subscribers' mailboxes.
type topic struct {
	hub    *Hub
	key    string
	list   bool
	view   view
	ctx    context.Context
	cancel context.CancelFunc

	wake   chan struct{} // the state changed
	joined chan struct{} // a subscriber joined and waits for the full state

	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

func newTopic(h *Hub, tp Topic, v view) *topic {
	ctx, cancel := context.WithCancel(h.ctx)
	return &topic{
		hub:    h,
		key:    tp.key,
		list:   tp.list,
		view:   v,
		ctx:    ctx,
		cancel: cancel,
		wake:   make(chan struct{}, 1),
		joined: make(chan struct{}, 1),
		subs:   make(map[*Subscription]struct{}),
	}
}

// poke signals c without ever blocking: one pending signal is enough.
func (t *topic) poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// retryDelay is how long a topic waits before loading again after a failed load.
const retryDelay = time.Second

// run pushes changes as they come, but at most about once per Interval on average. Each
// push spends one from a budget of Burst that refills one per Interval, so a change right
// after a push need not wait out the whole Interval, while a busy batch settles at one
// push per Interval. A change first waits Settle for the changes that follow it within
// milliseconds (the worker that committed a day claims its next one), so that both go out
// in one push instead of spending two; changes that arrive while a push is pending are
// folded into it, and the newest state always goes out.
func (t *topic) run() {
	cfg := &t.hub.cfg
	var (
		timer *time.Timer
		tick  <-chan time.Time
		dirty bool
		heard time.Time // when the oldest change not pushed yet was heard
		// Each push takes a token of Burst that refills one per Interval.
		limit = rate.NewLimiter(rate.Every(cfg.Interval), cfg.Burst)
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	schedule := func(d time.Duration) {
		timer = time.NewTimer(d)
		tick = timer.C
	}
	wait := func() time.Duration { return budgetWait(limit, cfg.Now) }
	// changed notes a change heard now, unless an older one waits already.
	changed := func() {
		dirty = true
		if heard.IsZero() {
			heard = cfg.Now()
		}
	}
	push := func() {
		dirty = false
		limit.AllowN(cfg.Now(), 1)
		if t.update(heard) {
			heard = time.Time{}
		} else {
			dirty = true
			if tick == nil {
				schedule(max(cfg.Interval, retryDelay))
			}
		}
	}
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-t.joined:
			if t.view.loaded() {
				t.welcome(cfg.Now())
				continue
			}
			// Nothing loaded yet: a new topic's budget is full, so this goes at once.
			changed()
			if tick != nil {
				continue // a push (or a retry of a failed load) is already scheduled
			}
			if d := wait(); d > 0 {
				schedule(d)
				continue
			}
			push()
		case <-t.wake:
			changed()
			if tick != nil {
				continue // a push is already scheduled
			}
			if d := max(cfg.Settle, wait()); d > 0 {
				schedule(d)
				continue
			}
			push()
		case <-tick:
			tick, timer = nil, nil
			if !dirty {
				continue
			}
			if d := wait(); d > 0 {
				schedule(d)
				continue
			}
			push()
		}
	}
}

// budgetWait is how long until limit's budget holds a push.
func budgetWait(limit *rate.Limiter, now func() time.Time) time.Duration {
	r := limit.ReserveN(now(), 1)
	d := r.DelayFrom(now())
	r.CancelAt(now())
	return d
}

// members returns the subscribers, and clears the fresh flag of those that will get
// their full state now.
func (t *topic) members() (subs []*Subscription, fresh []bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := range t.subs {
		subs = append(subs, s)
		fresh = append(fresh, s.fresh)
		s.fresh = false
	}
	return subs, fresh
}

// renders memoises one update's renders per language and kind.
type renders struct {
	t    *topic
	msgs map[rkey][]byte
}

type rkey struct {
	lang string
	full bool
}

func (r *renders) get(lang string, full bool) []byte {
	k := rkey{lang, full}
	if b, ok := r.msgs[k]; ok {
		return b
	}
	b, err := r.t.view.render(lang, full)
	if err != nil {
		r.t.hub.logger.Error("live: rendering", "topic", r.t.key, "lang", lang, "full", full, "err", err)
		b = nil
	}
	r.msgs[k] = b
	return b
}

// update loads the newest state and pushes it, as changes heard since heard; it reports
// false when loading failed.
func (t *topic) update(heard time.Time) bool {
	if err := t.view.refresh(t.ctx); err != nil {
		if t.ctx.Err() == nil {
			t.hub.logger.Error("live: loading", "topic", t.key, "err", err)
		}
		return false
	}
	subs, fresh := t.members()
	r := &renders{t: t, msgs: make(map[rkey][]byte)}
	for i, s := range subs {
		full := func() []byte { return r.get(s.lang, true) }
		if fresh[i] {
			if b := full(); b != nil {
				s.deliver(b, full, heard)
			}
			continue
		}
		if b := r.get(s.lang, false); b != nil {
			s.deliver(b, full, heard)
		}
	}
	return true
}

// welcome sends the full state to subscribers that just joined at joined.
func (t *topic) welcome(joined time.Time) {
	subs, fresh := t.members()
	r := &renders{t: t, msgs: make(map[rkey][]byte)}
	for i, s := range subs {
		if !fresh[i] {
			continue
		}
		full := func() []byte { return r.get(s.lang, true) }
		if b := full(); b != nil {
			s.deliver(b, full, joined)
		}
	}
}

// batchView is one batch's snapshot, the grid cells changed by the last refresh, and the
// blocks last sent in each language.
type batchView struct {
	hub     *Hub
	taskID  string
	snap    *market.Snapshot
	changed []market.DayCell
	sent    map[string]map[string][]byte // lang → block id → bytes
}

func (v *batchView) loaded() bool { return v.snap != nil }

func (v *batchView) refresh(ctx context.Context) error {
	next, err := v.hub.cfg.Loader.Snapshot(ctx, v.taskID)
	if err != nil {
		return err
	}
	var prev []market.DayCell
	if v.snap != nil {
		prev = v.snap.Days
	}
	v.changed = ChangedCells(prev, next.Days)
	v.snap = next
	return nil
}

// render renders the whole page's blocks (full) or the changed cells and the blocks whose
// bytes differ from those last sent in lang. Every viewer of lang who is not sent a full
// render has had every push before, so what was last sent is what it shows.
func (v *batchView) render(lang string, full bool) ([]byte, error) {
	cells := v.changed
	if full {
		cells = v.snap.Days
	}
	blocks, err := v.hub.cfg.Renderer.RenderBatch(lang, v.snap, cells, full)
	if err != nil {
		return nil, err
	}
	if v.sent == nil {
		v.sent = make(map[string]map[string][]byte)
	}
	last := v.sent[lang]
	if last == nil {
		last = make(map[string][]byte)
		v.sent[lang] = last
	}
	var out []byte
	for _, b := range blocks {
		if full || !bytes.Equal(last[b.ID], b.HTML) {
			out = append(out, b.HTML...)
		}
		last[b.ID] = b.HTML
	}
	return out, nil
}

// dashboardView is the dashboard's lists, now and at the refresh before.
type dashboardView struct {
	hub       *Hub
	prev, cur *market.Overview
}

func (v *dashboardView) loaded() bool { return v.cur != nil }

func (v *dashboardView) refresh(ctx context.Context) error {
	next, err := v.hub.cfg.Loader.Overview(ctx, v.hub.cfg.Shown)
	if err != nil {
		return err
	}
	v.prev, v.cur = v.cur, next
	return nil
}

func (v *dashboardView) render(lang string, full bool) ([]byte, error) {
	prev := v.prev
	if full {
		prev = nil
	}
	return v.hub.cfg.Renderer.RenderDashboard(lang, prev, v.cur)
}

// coverageView is one dataset's year of coverage, now and at the refresh before.
type coverageView struct {
	hub       *Hub
	dataset   string
	year      int
	prev, cur *market.Coverage
}

func (v *coverageView) loaded() bool { return v.cur != nil }

func (v *coverageView) refresh(ctx context.Context) error {
	next, err := v.hub.cfg.Loader.CoverageYear(ctx, v.dataset, v.year)
	if err != nil {
		return err
	}
	v.prev, v.cur = v.cur, next
	return nil
}

func (v *coverageView) render(lang string, full bool) ([]byte, error) {
	prev := v.prev
	if full {
		prev = nil
	}
	return v.hub.cfg.Renderer.RenderCoverage(lang, prev, v.cur)
}

// historyView is one page of the history, now and at the refresh before.
type historyView struct {
	hub       *Hub
	filter    market.BatchFilter
	prev, cur *HistoryPage
}

func (v *historyView) loaded() bool { return v.cur != nil }

func (v *historyView) refresh(ctx context.Context) error {
	items, total, err := v.hub.cfg.Loader.Batches(ctx, v.filter)
	if err != nil {
		return err
	}
	v.prev, v.cur = v.cur, &HistoryPage{Filter: v.filter, Items: items, Total: total}
	return nil
}

func (v *historyView) render(lang string, full bool) ([]byte, error) {
	prev := v.prev
	if full {
		prev = nil
	}
	return v.hub.cfg.Renderer.RenderHistory(lang, prev, v.cur)
}

// ChangedCells returns the cells of next that are new or differ from prev, in next's
// order.
func ChangedCells(prev, next []market.DayCell) []market.DayCell {
	type key struct{ dataset, date string }
	old := make(map[key]market.DayCell, len(prev))
	for _, c := range prev {
		old[key{c.Dataset, c.Date}] = c
	}
	var out []market.DayCell
	for _, c := range next {
		if p, ok := old[key{c.Dataset, c.Date}]; !ok || p != c {
			out = append(out, c)
		}
	}
	return out
}
