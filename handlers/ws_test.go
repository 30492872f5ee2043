package handlers_test

import (
	"errors"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/stretchr/testify/require"
)

// listen serves the app on a real loopback listener and returns its address.
func (e *env) listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = e.app.Listener(ln) }()
	return ln.Addr().String()
}

var cellRe = regexp.MustCompile(`id="cell-daily-(\d{4}-\d{2}-\d{2})"[^>]*data-status="(\w+)"`)

// viewer is a browser watching a batch: it applies every push to its copy of the grid,
// as htmx swaps the cells in.
type viewer struct {
	conn   *websocket.Conn
	grid   map[string]string
	pushes int
	final  string
}

func watch(t *testing.T, addr, path string, header ...string) *viewer {
	t.Helper()
	h := map[string][]string{}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = []string{header[i+1]}
	}
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+path, h)
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	return &viewer{conn: conn, grid: map[string]string{}}
}

// follow reads pushes until the batch's final message arrives.
func (v *viewer) follow(t *testing.T) error {
	for {
		_ = v.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, msg, err := v.conn.ReadMessage()
		if err != nil {
			return err
		}
		m := string(msg)
		if v.pushes == 0 && !strings.Contains(m, `id="batch-grid"`) {
			return errors.New("the first push is not the full grid")
		}
		v.pushes++
		if strings.Contains(m, `id="batch-grid"`) {
			clear(v.grid)
		}
		for _, c := range cellRe.FindAllStringSubmatch(m, -1) {
			v.grid[c[1]] = c[2]
		}
		if strings.Contains(m, `data-testid="final-message"`) {
			v.final = m
			return nil
		}
	}
}

func TestTwoViewersWatchABatchToTheEnd(t *testing.T) {
	t.Parallel()
	e := setup(t, options{latency: 100 * time.Millisecond})
	addr := e.listen(t)
	id := e.start(t, `{"start_date":"2025-09-01","end_date":"2025-09-30"}`)

	viewers := []*viewer{
		watch(t, addr, "/ws/batches/"+id),
		watch(t, addr, "/ws/batches/"+id, "Cookie", "lang=zh"),
	}
	var wg sync.WaitGroup
	errs := make([]error, len(viewers))
	for i, v := range viewers {
		wg.Go(func() { errs[i] = v.follow(t) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}

	snap := e.wait(t, id)
	require.Equal(t, 30, snap.Total)
	for _, v := range viewers {
		require.Len(t, v.grid, 30)
		for _, c := range snap.Days {
			want := string(c.Status)
			if c.Closed {
				want = "closed"
			}
			require.Equal(t, want, v.grid[c.Date], c.Date)
		}
	}
	require.Contains(t, viewers[0].final, "completed: ")
	require.Contains(t, viewers[1].final, "批量同步完成")

	// Shutting down closes both sockets with a reason.
	e.hub.Shutdown()
	for _, v := range viewers {
		_ = v.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var err error
		for err == nil {
			_, _, err = v.conn.ReadMessage()
		}
		var ce *websocket.CloseError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, websocket.CloseServiceRestart, ce.Code)
		require.Equal(t, "server shutting down", ce.Text)
	}
}

func TestDashboardFeed(t *testing.T) {
	t.Parallel()
	e := setup(t, options{latency: 50 * time.Millisecond})
	addr := e.listen(t)
	v := watch(t, addr, "/ws/dashboard")
	_ = v.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := v.conn.ReadMessage()
	require.NoError(t, err)
	require.Contains(t, string(msg), `id="active-batches"`)

	id := e.start(t, `{"start_date":"2025-06-02","end_date":"2025-06-06"}`)
	for {
		_ = v.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err = v.conn.ReadMessage()
		require.NoError(t, err)
		if strings.Contains(string(msg), `id="active-`+id+`"`) {
			break
		}
	}
	e.wait(t, id)
}

func TestSocketRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	addr := e.listen(t)
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws/batches/nope", nil)
	require.Error(t, err)
	require.NotNil(t, resp)
	require.Equal(t, 404, resp.StatusCode)
	resp.Body.Close()

	r := e.do(t, "GET", "/ws/dashboard", nil)
	require.Equal(t, 426, r.status)
}

// readUntil reads pushes until one contains want.
func (v *viewer) readUntil(t *testing.T, want string) string {
	t.Helper()
	for {
		_ = v.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, msg, err := v.conn.ReadMessage()
		require.NoError(t, err, "waiting for %q", want)
		if strings.Contains(string(msg), want) {
			return string(msg)
		}
	}
}

func TestCoverageAndHistoryAreLive(t *testing.T) {
	t.Parallel()
	e := setup(t, options{latency: 20 * time.Millisecond})
	addr := e.listen(t)
	cov := watch(t, addr, "/ws/coverage?dataset=daily&year=2020")
	first := cov.readUntil(t, `id="cov-counts-daily"`)
	require.Contains(t, first, `id="cov-daily-2020-03-02"`, "the first push has every day")
	hist := watch(t, addr, "/ws/history?status=completed")
	hist.readUntil(t, `id="history-batches"`)

	id := e.start(t, `{"start_date":"2020-03-02","end_date":"2020-03-03","force":true}`)
	e.wait(t, id)
	m := cov.readUntil(t, `id="cov-daily-2020-03-03"`)
	require.Contains(t, m, `cov-loaded`)
	require.NotContains(t, m, `id="cov-daily-2020-06-01"`, "days that did not change are not sent again")
	m = hist.readUntil(t, `id="hist-`+id+`"`)
	require.Contains(t, m, `hx-swap-oob="afterbegin:#hist-list"`, "the new row is added at the top, alone")

	r := e.do(t, "GET", "/ws/coverage?dataset=nope&year=2020", nil, "Connection", "Upgrade", "Upgrade", "websocket",
		"Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	require.Equal(t, 422, r.status)
}
