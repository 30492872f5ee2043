package live_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/live"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
)

// The hub needs no tables: each test's database is empty, its own for its notifications.
func TestMain(m *testing.M) { pgtest.Main(m, "live", nil) }

// batches is an in-memory stand-in for the engine's reads; the notifications the tests
// send cross real PostgreSQL connections.
type batches struct {
	mu     sync.Mutex
	snaps  map[string]*market.Snapshot
	loads  int
	failOn map[string]bool
}

func (b *batches) set(s *market.Snapshot) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := *s
	c.Days = append([]market.DayCell(nil), s.Days...)
	b.snaps[s.TaskID] = &c
}

func (b *batches) Snapshot(_ context.Context, id string) (*market.Snapshot, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.loads++
	s, ok := b.snaps[id]
	if !ok || b.failOn[id] {
		return nil, fmt.Errorf("batch %s: %w", id, market.ErrNotFound)
	}
	c := *s
	c.Days = append([]market.DayCell(nil), s.Days...)
	return &c, nil
}

func (b *batches) CoverageYear(_ context.Context, ds string, year int) (*market.Coverage, error) {
	return &market.Coverage{Dataset: ds, Year: year}, nil
}

func (b *batches) Batches(context.Context, market.BatchFilter) ([]market.BatchSummary, int, error) {
	return nil, 0, nil
}

func (b *batches) Overview(context.Context, int) (*market.Overview, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ov := &market.Overview{}
	for _, s := range b.snaps {
		if s.Status.Active() {
			ov.Active = append(ov.Active, market.BatchSummary{TaskID: s.TaskID, Status: s.Status, Success: s.Success})
		}
	}
	ov.ActiveTotal = len(ov.Active)
	return ov, nil
}

// renderer writes a readable line and counts its calls per (lang, full). Unless stable,
// a batch's state is one block with a new id at every render, so that every push sends
// it.
type renderer struct {
	mu     sync.Mutex
	calls  map[string]int
	stable bool
	n      int
}

func (r *renderer) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[key]
}

func (r *renderer) RenderBatch(lang string, s *market.Snapshot, cells []market.DayCell, full bool) ([]live.Block, error) {
	r.mu.Lock()
	r.calls[fmt.Sprintf("%s/%v", lang, full)]++
	r.n++
	n := r.n
	r.mu.Unlock()
	var dates []string
	for _, c := range cells {
		dates = append(dates, c.Date+"="+string(c.Status))
	}
	state := fmt.Sprintf("%s %s full=%v status=%s current=%d cells=%s", lang, s.TaskID, full, s.Status, s.Current, strings.Join(dates, ","))
	if r.stable {
		return []live.Block{
			{ID: "status", HTML: fmt.Appendf(nil, "[status=%s]", s.Status)},
			{ID: "current", HTML: fmt.Appendf(nil, "[current=%d]", s.Current)},
		}, nil
	}
	return []live.Block{{ID: fmt.Sprint(n), HTML: []byte(state)}}, nil
}

func (r *renderer) RenderDashboard(lang string, _, next *market.Overview) ([]byte, error) {
	r.mu.Lock()
	r.calls["dashboard/"+lang]++
	r.mu.Unlock()
	var ids []string
	for _, a := range next.Active {
		ids = append(ids, fmt.Sprintf("%s:%d", a.TaskID, a.Success))
	}
	return fmt.Appendf(nil, "%s dashboard %s", lang, strings.Join(ids, ",")), nil
}

func (r *renderer) RenderCoverage(lang string, _, next *market.Coverage) ([]byte, error) {
	return fmt.Appendf(nil, "%s coverage %s %d", lang, next.Dataset, next.Year), nil
}

func (r *renderer) RenderHistory(lang string, _, next *live.HistoryPage) ([]byte, error) {
	return fmt.Appendf(nil, "%s history %d", lang, next.Total), nil
}

type fixture struct {
	pool  *pgxpool.Pool
	hub   *live.Hub
	data  *batches
	rend  *renderer
	ctx   context.Context
	runCh chan error
}

func setup(t *testing.T, cfg live.HubConfig) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pool, err := pgxpool.New(ctx, pgtest.NewDB(t))
	require.NoError(t, err)
	f := &fixture{
		pool:  pool,
		data:  &batches{snaps: map[string]*market.Snapshot{}, failOn: map[string]bool{}},
		rend:  &renderer{calls: map[string]int{}},
		ctx:   ctx,
		runCh: make(chan error, 1),
	}
	cfg.Loader, cfg.Renderer, cfg.Channel = f.data, f.rend, engine.ProgressChannel
	f.hub, err = live.NewHub(pool, &cfg, nil)
	require.NoError(t, err)
	go func() { f.runCh <- f.hub.Run(ctx) }()
	t.Cleanup(func() {
		f.hub.Shutdown()
		cancel()
		require.NoError(t, <-f.runCh)
		pool.Close()
	})
	select {
	case <-f.hub.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("hub never listened")
	}
	return f
}

func (f *fixture) notify(t *testing.T, taskID string) {
	t.Helper()
	_, err := f.pool.Exec(f.ctx, "SELECT pg_notify($1, $2)", engine.ProgressChannel, taskID)
	require.NoError(t, err)
}

// snapshot builds a batch of n days, the first done of them succeeded.
func snapshot(id string, n, done int) *market.Snapshot {
	s := &market.Snapshot{TaskID: id, Status: market.BatchRunning, Total: n, Current: done, Success: done}
	for i := range n {
		st := market.DayPending
		if i < done {
			st = market.DaySucceeded
		}
		s.Days = append(s.Days, market.DayCell{Dataset: "daily", Date: fmt.Sprintf("2025-10-%02d", i+1), Status: st})
	}
	if done == n {
		s.Status = market.BatchCompleted
	}
	return s
}

func receive(t *testing.T, sub *live.Subscription) string {
	t.Helper()
	select {
	case b := <-sub.C():
		return string(b)
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
		return ""
	}
}

// receiveUntil reads messages until one contains want, and returns them all.
func receiveUntil(t *testing.T, sub *live.Subscription, want string) []string {
	t.Helper()
	var got []string
	for {
		m := receive(t, sub)
		got = append(got, m)
		if strings.Contains(m, want) {
			return got
		}
	}
}

func TestSubscribeGetsFullStateAtOnce(t *testing.T) {
	t.Parallel()
	f := setup(t, live.HubConfig{})
	f.data.set(snapshot("full-1", 3, 1))

	sub, err := f.hub.Subscribe(live.BatchTopic("full-1"), "en")
	require.NoError(t, err)
	defer sub.Close()
	require.Equal(t, "en full-1 full=true status=running current=1 cells=2025-10-01=succeeded,2025-10-02=pending,2025-10-03=pending", receive(t, sub))

	// A second viewer in another language gets the full state too, without a notification.
	zh, err := f.hub.Subscribe(live.BatchTopic("full-1"), "zh")
	require.NoError(t, err)
	defer zh.Close()
	require.Contains(t, receive(t, zh), "zh full-1 full=true status=running current=1")

	// Then only what changed.
	f.data.set(snapshot("full-1", 3, 2))
	f.notify(t, "full-1")
	require.Equal(t, "en full-1 full=false status=running current=2 cells=2025-10-02=succeeded", receive(t, sub))
	require.Equal(t, "zh full-1 full=false status=running current=2 cells=2025-10-02=succeeded", receive(t, zh))
}

func TestRendersOncePerLanguage(t *testing.T) {
	t.Parallel()
	f := setup(t, live.HubConfig{})
	f.data.set(snapshot("lang-1", 4, 0))
	var subs []*live.Subscription
	for _, lang := range []string{"en", "en", "en", "zh", "zh"} {
		s, err := f.hub.Subscribe(live.BatchTopic("lang-1"), lang)
		require.NoError(t, err)
		defer s.Close()
		receive(t, s)
		subs = append(subs, s)
	}
	f.data.set(snapshot("lang-1", 4, 1))
	f.notify(t, "lang-1")
	for _, s := range subs {
		require.Contains(t, receive(t, s), "current=1")
	}
	require.Equal(t, 1, f.rend.count("en/false"))
	require.Equal(t, 1, f.rend.count("zh/false"))
	require.Equal(t, 0, f.rend.count("fr/false"))
}

func TestCoalescesAndDeliversTheFinalState(t *testing.T) {
	t.Parallel()
	// A long interval makes the coalescing visible whatever the machine's speed.
	f := setup(t, live.HubConfig{Interval: 500 * time.Millisecond})
	const n = 30
	f.data.set(snapshot("coal-1", n, 0))
	sub, err := f.hub.Subscribe(live.BatchTopic("coal-1"), "en")
	require.NoError(t, err)
	defer sub.Close()
	require.Contains(t, receive(t, sub), "full=true")

	for i := 1; i <= n; i++ {
		f.data.set(snapshot("coal-1", n, i))
		f.notify(t, "coal-1")
	}
	got := receiveUntil(t, sub, fmt.Sprintf("status=completed current=%d", n))
	require.Less(t, len(got), n/2, "pushes were not coalesced: %q", got)
	require.Less(t, f.rend.count("en/false"), n/2)
	// Every cell that changed reached the viewer across the coalesced pushes.
	seen := map[string]bool{}
	for _, m := range got {
		for _, c := range strings.Split(m[strings.Index(m, "cells=")+6:], ",") {
			if c != "" {
				seen[c] = true
			}
		}
	}
	for i := 1; i <= n; i++ {
		require.True(t, seen[fmt.Sprintf("2025-10-%02d=succeeded", i)], "day %d never pushed", i)
	}
}

func TestLatestWinsWithAFullRenderForALaggingViewer(t *testing.T) {
	t.Parallel()
	f := setup(t, live.HubConfig{Interval: 10 * time.Millisecond})
	f.data.set(snapshot("late-1", 5, 0))
	fast, err := f.hub.Subscribe(live.BatchTopic("late-1"), "en")
	require.NoError(t, err)
	defer fast.Close()
	slow, err := f.hub.Subscribe(live.BatchTopic("late-1"), "en")
	require.NoError(t, err)
	defer slow.Close()
	receive(t, fast)
	receive(t, slow)

	// The slow viewer reads nothing while the batch runs to its end.
	for i := 1; i <= 5; i++ {
		f.data.set(snapshot("late-1", 5, i))
		f.notify(t, "late-1")
		require.Contains(t, receive(t, fast), fmt.Sprintf("current=%d", i))
	}
	// One more push: once fast has it, the hub is done with the slow one's mailbox.
	f.notify(t, "late-1")
	require.Contains(t, receive(t, fast), "full=false status=completed current=5 cells=")
	// Its one slot holds the newest state, rendered whole because it missed steps.
	require.Equal(t, "en late-1 full=true status=completed current=5 cells="+
		"2025-10-01=succeeded,2025-10-02=succeeded,2025-10-03=succeeded,2025-10-04=succeeded,2025-10-05=succeeded",
		receive(t, slow))
	select {
	case m := <-slow.C():
		t.Fatalf("unexpected second message %q", m)
	default:
	}
}

// stuckConn is a client that never reads: every write waits out its deadline.
type stuckConn struct {
	mu       sync.Mutex
	deadline time.Time
	writes   int
}

func (c *stuckConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return nil
}

func (c *stuckConn) WriteMessage(int, []byte) error {
	c.mu.Lock()
	d := c.deadline
	c.writes++
	c.mu.Unlock()
	time.Sleep(time.Until(d))
	return errors.New("i/o timeout")
}

func (c *stuckConn) WriteControl(int, []byte, time.Time) error { return nil }

// recordConn is a client that reads everything.
type recordConn struct {
	mu     sync.Mutex
	closed []byte
	got    chan string
}

func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }

func (c *recordConn) WriteMessage(_ int, b []byte) error {
	c.got <- string(b)
	return nil
}

func (c *recordConn) WriteControl(typ int, b []byte, _ time.Time) error {
	if typ == 8 {
		c.mu.Lock()
		c.closed = b
		c.mu.Unlock()
	}
	return nil
}

func TestSlowClientIsDroppedWithoutBlockingOthers(t *testing.T) {
	t.Parallel()
	f := setup(t, live.HubConfig{Interval: 10 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
	f.data.set(snapshot("slow-1", 20, 0))

	stuck := &stuckConn{}
	stuckSub, err := f.hub.Subscribe(live.BatchTopic("slow-1"), "en")
	require.NoError(t, err)
	stuckDone := make(chan error, 1)
	go func() { stuckDone <- f.hub.Serve(stuckSub, stuck) }()

	good := &recordConn{got: make(chan string, 100)}
	goodSub, err := f.hub.Subscribe(live.BatchTopic("slow-1"), "en")
	require.NoError(t, err)
	goodDone := make(chan error, 1)
	go func() { goodDone <- f.hub.Serve(goodSub, good) }()

	// The batch runs while the stuck client blocks on its first write.
	for i := 1; i <= 20; i++ {
		f.data.set(snapshot("slow-1", 20, i))
		f.notify(t, "slow-1")
	}
	for {
		m := <-good.got
		if strings.Contains(m, "status=completed current=20") {
			break
		}
	}
	// The stuck client is dropped at its write deadline.
	select {
	case err := <-stuckDone:
		require.ErrorContains(t, err, "writing to subscriber")
	case <-time.After(10 * time.Second):
		t.Fatal("stuck client was never dropped")
	}
	select {
	case <-stuckSub.Done():
	default:
		t.Fatal("dropped subscription not closed")
	}
	// The healthy one stays until shutdown, which closes it with a reason.
	f.hub.Shutdown()
	require.NoError(t, <-goodDone)
	good.mu.Lock()
	require.Equal(t, websocket.FormatCloseMessage(websocket.CloseServiceRestart, "server shutting down"), good.closed)
	good.mu.Unlock()
	_, err = f.hub.Subscribe(live.BatchTopic("slow-1"), "en")
	require.ErrorIs(t, err, live.ErrClosed)
}

func TestDashboardHearsEveryBatch(t *testing.T) {
	t.Parallel()
	f := setup(t, live.HubConfig{Interval: 10 * time.Millisecond})
	sub, err := f.hub.Subscribe(live.DashboardTopic(), "zh")
	require.NoError(t, err)
	defer sub.Close()
	require.Equal(t, "zh dashboard ", receive(t, sub))

	f.data.set(snapshot("dash-1", 3, 1))
	f.notify(t, "dash-1")
	receiveUntil(t, sub, "dash-1:1")
	f.data.set(snapshot("dash-1", 3, 3))
	f.notify(t, "dash-1")
	require.Equal(t, "zh dashboard ", receiveUntil(t, sub, "zh dashboard ")[0][:13])
}

func TestReconnectsAfterTheListenerDrops(t *testing.T) {
	t.Parallel()
	f := setup(t, live.HubConfig{Interval: 10 * time.Millisecond, ReconnectMin: 10 * time.Millisecond})
	id := "reconn-1"
	f.data.set(snapshot(id, 3, 0))
	sub, err := f.hub.Subscribe(live.BatchTopic(id), "en")
	require.NoError(t, err)
	defer sub.Close()
	receive(t, sub)

	// Kill the hub's listening backend.
	_, err = f.pool.Exec(f.ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`)
	require.NoError(t, err)

	// A change made while nobody listened is picked up on reconnect; later ones as usual.
	f.data.set(snapshot(id, 3, 1))
	receiveUntil(t, sub, "current=1")
	f.data.set(snapshot(id, 3, 3))
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.notify(t, id)
		select {
		case m := <-sub.C():
			if strings.Contains(string(m), "status=completed") {
				return
			}
		case <-time.After(200 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "no update after reconnect")
	}
}

func TestChangedCells(t *testing.T) {
	t.Parallel()
	prev := snapshot("x", 3, 1).Days
	next := snapshot("x", 3, 2).Days
	next[2].Attempt = 1
	require.Equal(t, []market.DayCell{next[1], next[2]}, live.ChangedCells(prev, next))
	require.Equal(t, next, live.ChangedCells(nil, next))
	require.Empty(t, live.ChangedCells(next, next))
}

func TestUnchangedBlocksAreNotSentAgain(t *testing.T) {
	t.Parallel()
	f := setup(t, live.HubConfig{Interval: 10 * time.Millisecond})
	f.rend.mu.Lock()
	f.rend.stable = true
	f.rend.mu.Unlock()
	id := "blocks-1"
	f.data.set(snapshot(id, 3, 1))
	sub, err := f.hub.Subscribe(live.BatchTopic(id), "en")
	require.NoError(t, err)
	defer sub.Close()
	require.Equal(t, "[status=running][current=1]", receive(t, sub), "a new viewer gets every block")

	f.data.set(snapshot(id, 3, 2))
	f.notify(t, id)
	require.Equal(t, "[current=2]", receive(t, sub), "only the block that changed")

	f.notify(t, id) // nothing changed: nothing is sent
	select {
	case m := <-sub.C():
		t.Fatalf("unexpected push %q", m)
	case <-time.After(300 * time.Millisecond):
	}

	f.data.set(snapshot(id, 3, 3))
	f.notify(t, id)
	require.Equal(t, "[status=completed][current=3]", receive(t, sub))
}
