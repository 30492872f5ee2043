// Package live pushes batch progress to browsers. A Hub in each process LISTENs on the
// engine's PostgreSQL channel, so it hears every batch whichever process runs it; for each
// topic (one batch, or the dashboard) that has subscribers it loads the state once,
// renders the fragment once per language, and hands the bytes to every subscriber's
// one-slot mailbox, where the latest state wins.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/metrics"
)

// Loader reads the state the hub pushes. The engine satisfies it.
type Loader interface {
	// Snapshot returns the batch taskID with its grid of days.
	Snapshot(ctx context.Context, taskID string) (*market.Snapshot, error)
	// Overview returns the dashboard's lists, n batches each at most.
	Overview(ctx context.Context, n int) (*market.Overview, error)
	// CoverageYear returns what is loaded of dataset in year.
	CoverageYear(ctx context.Context, dataset string, year int) (*market.Coverage, error)
	// Batches returns the batches f selects, and how many match in all.
	Batches(ctx context.Context, f market.BatchFilter) ([]market.BatchSummary, int, error)
}

// HistoryPage is one page of the history: the filter and page it shows, its batches and
// how many match the filter in all.
type HistoryPage struct {
	Filter market.BatchFilter
	Items  []market.BatchSummary
	Total  int
}

// Renderer turns state into the bytes sent to a browser (htmx out-of-band fragments).
// The hub calls it once per update and language, never once per viewer; main passes one
// in, so the hub knows nothing of templates.
type Renderer interface {
	// RenderBatch renders the blocks of a batch's page in lang, each swapped by its id:
	// with full set every block and every cell of the grid; otherwise the blocks that may
	// have changed and the given changed cells. The hub sends only the blocks whose bytes
	// differ from what it last sent in lang.
	RenderBatch(lang string, snap *market.Snapshot, cells []market.DayCell, full bool) ([]Block, error)
	// RenderDashboard renders the dashboard's change from prev to next in lang: rows that
	// changed, came or went, and the counts; with prev nil, the whole lists.
	RenderDashboard(lang string, prev, next *market.Overview) ([]byte, error)
	// RenderCoverage renders the days of a coverage map that changed from prev to next;
	// with prev nil, every day.
	RenderCoverage(lang string, prev, next *market.Coverage) ([]byte, error)
	// RenderHistory renders a history page's change from prev to next, as the dashboard's.
	RenderHistory(lang string, prev, next *HistoryPage) ([]byte, error)
}

// Block is one part of a page that a push replaces whole, by its element id.
type Block struct {
	ID   string
	HTML []byte
}

// HubConfig tunes a Hub. Loader and Renderer are required; zero durations take defaults.
type HubConfig struct {
	// Loader reads snapshots and the active batches.
	Loader Loader
	// Renderer renders the fragments.
	Renderer Renderer
	// Channel is the PostgreSQL NOTIFY channel on which every change of a batch is
	// announced, its payload the batch's task id (required).
	Channel string
	// Interval is the mean least time between two pushes of one topic (default 100 ms):
	// a topic pushes at most about once per Interval however busy its batch, changes in
	// between are coalesced (the latest state wins), the final state is always sent.
	Interval time.Duration
	// Burst is how many pushes may follow each other closer than Interval (default 2):
	// pushes spend a budget of Burst that refills one per Interval, so a change that
	// comes right after a push need not wait out a whole Interval (in any second, a
	// topic pushes at most Burst + 1s/Interval times).
	Burst int
	// Settle is how long a change waits for the ones that usually follow within
	// milliseconds, to push them together (default 10 ms; negative: no wait). A worker
	// claims its next day right after committing one; without it, the claim would spend
	// a push of its own.
	Settle time.Duration
	// Shown is how many batches each of the dashboard's lists shows (default 10): the
	// rest of the running ones are behind a link.
	Shown int
	// WriteTimeout bounds one write to a client (default 5 s); a client slower than that
	// is dropped.
	WriteTimeout time.Duration
	// PingInterval is how often an idle socket is pinged to find dead peers (default 30 s).
	PingInterval time.Duration
	// ReconnectMin and ReconnectMax bound the backoff between attempts to reconnect the
	// listening connection (defaults 100 ms and 5 s).
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Metrics counts the WebSocket clients and times the pushes (nil: none).
	Metrics *metrics.Metrics
}

// Topic names what a subscriber watches: one batch, the dashboard, one dataset's year of
// coverage, or one page of the history. The last three are lists that any batch's change
// may touch.
type Topic struct {
	key  string
	list bool
	view func(h *Hub) view
}

// String is the topic's key, for logs.
func (t Topic) String() string { return t.key }

// BatchTopic is the topic of the batch taskID.
func BatchTopic(taskID string) Topic {
	return Topic{key: "batch/" + taskID, view: func(h *Hub) view { return &batchView{hub: h, taskID: taskID} }}
}

// DashboardTopic is the dashboard's lists of running and latest finished batches.
func DashboardTopic() Topic {
	return Topic{key: "dashboard", list: true, view: func(h *Hub) view { return &dashboardView{hub: h} }}
}

// CoverageTopic is the coverage map of dataset in year.
func CoverageTopic(dataset string, year int) Topic {
	return Topic{key: fmt.Sprintf("coverage/%s/%d", dataset, year), list: true,
		view: func(h *Hub) view { return &coverageView{hub: h, dataset: dataset, year: year} }}
}

// HistoryTopic is one page of the batch history, f giving its filter and page (Limit,
// Offset).
func HistoryTopic(f market.BatchFilter) Topic {
	return Topic{key: fmt.Sprintf("history/%s/%s/%d/%d", f.StatusFilter(), f.Dataset, f.Limit, f.Offset), list: true,
		view: func(h *Hub) view { return &historyView{hub: h, filter: f} }}
}

// ErrClosed is returned by Subscribe after Shutdown.
var ErrClosed = errors.New("live: hub is shut down")

// The close code and reason sent to clients when the server stops. 1012 (Service
// Restart, RFC 6455 registry) rather than 1001: htmx's ws extension reconnects after it,
// so a browser moves to the restarted or another instance by itself.
const (
	CloseServiceRestart = websocket.CloseServiceRestart
	ShutdownMessage     = "server shutting down"
)

// Hub fans batch progress out to subscribers. Build it with NewHub, run its listener with
// Run, end it with Shutdown.
type Hub struct {
	pool   *pgxpool.Pool
	cfg    HubConfig
	logger *slog.Logger

	ctx    context.Context // ends at Shutdown; topic loops run under it
	cancel context.CancelFunc

	ready     chan struct{}
	readyOnce sync.Once

	mu     sync.Mutex
	topics map[string]*topic
	closed bool
}

// NewHub builds a hub that listens through its own connection made from pool's config.
func NewHub(pool *pgxpool.Pool, cfg *HubConfig, logger *slog.Logger) (*Hub, error) {
	if pool == nil {
		return nil, errors.New("live: NewHub needs a pool")
	}
	if cfg == nil || cfg.Loader == nil || cfg.Renderer == nil || cfg.Channel == "" {
		return nil, errors.New("live: HubConfig needs a Loader, a Renderer and a Channel")
	}
	c := *cfg
	if c.Interval <= 0 {
		c.Interval = 100 * time.Millisecond
	}
	if c.Burst <= 0 {
		c.Burst = 2
	}
	if c.Settle == 0 {
		c.Settle = 10 * time.Millisecond
	}
	c.Settle = max(c.Settle, 0)
	if c.Shown <= 0 {
		c.Shown = 10
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 5 * time.Second
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = 100 * time.Millisecond
	}
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = max(5*time.Second, c.ReconnectMin)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		pool:   pool,
		cfg:    c,
		logger: logger,
		ctx:    ctx,
		cancel: cancel,
		ready:  make(chan struct{}),
		topics: make(map[string]*topic),
	}, nil
}

// Ready is closed once the hub listens for the first time.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Run listens for progress notifications until ctx ends, reconnecting with backoff when
// the connection drops. It returns nil when ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	backoff := h.cfg.ReconnectMin
	for {
		listened, err := h.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			backoff = h.cfg.ReconnectMin
		}
		h.logger.Warn("live: listening connection lost; reconnecting", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, h.cfg.ReconnectMax)
	}
}

// listen holds one connection on the channel until it fails; listened reports whether
// LISTEN succeeded.
func (h *Hub) listen(ctx context.Context) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, h.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, fmt.Errorf("connecting: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{h.cfg.Channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listening: %w", err)
	}
	h.readyOnce.Do(func() { close(h.ready) })
	// Anything may have changed while no connection listened: refresh every topic.
	h.wakeAll()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		h.notify(n.Payload)
	}
}

// notify marks the batch's topic and every list as changed.
func (h *Hub) notify(taskID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[BatchTopic(taskID).key]; t != nil {
		t.poke(t.wake)
	}
	for _, t := range h.topics {
		if t.list {
			t.poke(t.wake)
		}
	}
}

func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.topics {
		t.poke(t.wake)
	}
}

// Subscribe registers a viewer of topic who reads lang. The subscription receives the
// full current state at once, then updates; Close it when the viewer leaves.
func (h *Hub) Subscribe(tp Topic, lang string) (*Subscription, error) {
	if tp.view == nil {
		return nil, fmt.Errorf("live: unknown topic %q", tp.key)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	t := h.topics[tp.key]
	if t == nil {
		t = newTopic(h, tp, tp.view(h))
		h.topics[tp.key] = t
		go t.run()
	}
	sub := &Subscription{
		hub:   h,
		topic: t,
		lang:  lang,
		c:     make(chan []byte, 1),
		done:  make(chan struct{}),
		fresh: true,
	}
	t.mu.Lock()
	t.subs[sub] = struct{}{}
	t.mu.Unlock()
	h.cfg.Metrics.ClientJoined()
	t.poke(t.joined)
	return sub, nil
}

// unsubscribe removes sub, and its topic when it was the last one.
func (h *Hub) unsubscribe(sub *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := sub.topic
	t.mu.Lock()
	delete(t.subs, sub)
	empty := len(t.subs) == 0
	t.mu.Unlock()
	h.cfg.Metrics.ClientLeft()
	if empty && h.topics[t.key] == t {
		delete(h.topics, t.key)
		t.cancel()
	}
}

// Shutdown ends every subscription with the close code 1012 and the reason "server
// shutting down", so socket handlers close their sockets and return; later Subscribe
// calls fail with ErrClosed. It is safe to call more than once.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	var subs []*Subscription
	for _, t := range h.topics {
		t.mu.Lock()
		for s := range t.subs {
			subs = append(subs, s)
		}
		t.mu.Unlock()
	}
	h.mu.Unlock()
	h.cancel()
	for _, s := range subs {
		s.end(CloseServiceRestart, ShutdownMessage)
	}
}

// Subscription is one viewer of one topic. Its mailbox holds one message: a newer one
// replaces an unsent one, and then carries the full state, so nothing is lost.
type Subscription struct {
	hub   *Hub
	topic *topic
	lang  string
	c     chan []byte

	// fresh is set until the subscriber got its first full render; guarded by topic.mu.
	fresh bool
	// heard is when the oldest change that the unsent message carries was heard (Unix
	// nanoseconds; 0 when none is unsent), for the push latency.
	heard atomic.Int64

	once        sync.Once
	done        chan struct{}
	closeCode   int
	closeReason string
}

// C delivers the rendered messages, newest state last.
func (s *Subscription) C() <-chan []byte { return s.c }

// Done is closed when the subscription ends: closed by its owner, or by Shutdown.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// CloseReason is the code and reason to send to the client once Done is closed; code 0
// means the client left on its own and needs no close frame.
func (s *Subscription) CloseReason() (code int, reason string) {
	select {
	case <-s.done:
		return s.closeCode, s.closeReason
	default:
		return 0, ""
	}
}

// Close ends the subscription. It is safe to call more than once.
func (s *Subscription) Close() { s.end(0, "") }

func (s *Subscription) end(code int, reason string) {
	s.once.Do(func() {
		s.closeCode, s.closeReason = code, reason
		close(s.done)
		s.hub.unsubscribe(s)
	})
}

// deliver puts msg, which carries the changes heard since heard, in the mailbox. If the
// slot still holds an unsent message, the subscriber has missed a step, so the unsent one
// is replaced by full() instead.
func (s *Subscription) deliver(msg []byte, full func() []byte, heard time.Time) {
	s.heard.CompareAndSwap(0, heard.UnixNano()) // an unsent older change keeps its time
	select {
	case s.c <- msg:
		return
	default:
	}
	f := full()
	if f == nil {
		return
	}
	select {
	case <-s.c:
	default:
	}
	// Only the topic's loop sends, so the slot is free now.
	select {
	case s.c <- f:
	default:
	}
}

// PingInterval is how often Serve pings an idle client; a socket's reader may treat a
// peer silent for a few of these as dead.
func (h *Hub) PingInterval() time.Duration { return h.cfg.PingInterval }
