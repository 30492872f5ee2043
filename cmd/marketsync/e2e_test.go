package main

// End-to-end tests: the real command serving in processes of its own on the test's
// database, watched over WebSocket and from headless Chromium.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/fasthttp/websocket"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/views"
)

// serveEnv makes the test binary run main() instead of the tests (see TestMain), so
// the end-to-end tests start the real command, race detector included, without a
// separate build.
const serveEnv = "MARKETSYNC_TEST_MAIN"

// server is `marketsync serve` running in a process of its own.
type server struct {
	name  string
	cmd   *exec.Cmd
	addr  string // host:port it listens on
	log   *serverLog
	done  chan struct{}
	err   error // the process's exit; read after done is closed
	start time.Time
}

// startServer starts `marketsync serve` on a free loopback port with database db and
// 200 ms of demo latency per day, and waits until it listens. The process is stopped at
// the end of the test if the test did not stop it, and its log shown when the test
// failed.
func startServer(t *testing.T, db, name string, args ...string) *server {
	t.Helper()
	return startServerEnv(t, db, name, nil, args...)
}

// startServerEnv is startServer with extra environment variables ("KEY=value").
func startServerEnv(t *testing.T, db, name string, extra []string, args ...string) *server {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	// A child never outlives this test process, even when it dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(),
		serveEnv+"=1",
		"DATABASE_URL="+db,
		"MARKETSYNC_DEMO_LATENCY=200ms",
		"MARKETSYNC_LOG_FORMAT=json",
		"MARKETSYNC_ANONYMOUS=operator", // as the old system's clients expect; a test that signs in says none
		"MARKETSYNC_SCHEDULE=off",       // no batch of the schedule's, whatever the time of the run
	)
	cmd.Env = append(cmd.Env, extra...)
	s := &server{name: name, cmd: cmd, log: newServerLog(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	s.start = time.Now()
	require.NoError(t, cmd.Start())
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-s.done
			}
		}
		if t.Failed() {
			t.Logf("server %s log:\n%s", s.name, s.log.String())
		}
	})
	select {
	case s.addr = <-s.log.addr:
	case <-s.done:
		t.Fatalf("server %s exited before serving (%v):\n%s", name, s.err, s.log.String())
	case <-time.After(45 * time.Second):
		t.Fatalf("server %s did not start serving:\n%s", name, s.log.String())
	}
	t.Logf("server %s serving on %s after %v", name, s.addr, time.Since(s.start).Round(time.Millisecond))
	return s
}

// url is the address of path on s.
func (s *server) url(path string) string { return "http://" + s.addr + path }

// terminate sends SIGTERM and waits for the process to exit; it returns how long that
// took and how the process exited (an error too when it was still running after 30 s).
func (s *server) terminate() (took time.Duration, exit error) {
	begin := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case <-s.done:
		return time.Since(begin), s.err
	case <-time.After(30 * time.Second):
		return time.Since(begin), fmt.Errorf("server %s still running 30s after SIGTERM", s.name)
	}
}

// daysLogged counts the days of batch id that s logged as finished.
func daysLogged(s *server, id string) int {
	n := 0
	for _, line := range strings.Split(s.log.String(), "\n") {
		var rec struct {
			TaskID string `json:"task_id"`
			Day    string `json:"day"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.TaskID == id && rec.Day != "" {
			n++
		}
	}
	return n
}

// serverLog keeps a server's output and hands over the address from its
// "serving http://…" line.
type serverLog struct {
	mu    sync.Mutex
	all   bytes.Buffer
	line  []byte
	found bool
	addr  chan string
}

func newServerLog() *serverLog { return &serverLog{addr: make(chan string, 1)} }

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	if l.found {
		return len(p), nil
	}
	l.line = append(l.line, p...)
	for {
		i := bytes.IndexByte(l.line, '\n')
		if i < 0 {
			break
		}
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(l.line[:i], &rec) == nil && strings.HasPrefix(rec.Msg, "serving http://") && rec.Addr != "" {
			l.found, l.line = true, nil
			l.addr <- rec.Addr
			break
		}
		l.line = l.line[i+1:]
	}
	return len(p), nil
}

func (l *serverLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

// apiCall sends a JSON API request and decodes the answer's data into out; it fails the
// test unless the answer is 200 with status "success".
func apiCall(t *testing.T, method, url, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", method, url, raw)
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(raw, &env), string(raw))
	require.Equal(t, "success", env.Status, string(raw))
	if out != nil {
		require.NoError(t, json.Unmarshal(env.Data, out), string(env.Data))
	}
}

// snapshotOf reads a batch's snapshot through s's JSON API.
func snapshotOf(t *testing.T, s *server, id string) market.Snapshot {
	t.Helper()
	var snap market.Snapshot
	apiCall(t, http.MethodGet, s.url("/api/v1/sync-status/sync/batch/progress/"+id), "", &snap)
	return snap
}

// waitStatus polls s's progress API until the batch is in status want.
func waitStatus(t *testing.T, s *server, id string, want market.BatchStatus, within time.Duration) market.Snapshot {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		snap := snapshotOf(t, s, id)
		if snap.Status == want {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %s is %s after %v, want %s", id, snap.Status, within, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// socket is a WebSocket client reading every message of a live feed in the background.
type socket struct {
	conn *websocket.Conn
	msgs chan string
	done chan struct{}
	err  error // why reading stopped; read after done is closed
}

func dial(t *testing.T, s *server, path string) *socket {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+s.addr+path, http.Header{"Cookie": {"lang=en"}})
	require.NoError(t, err)
	resp.Body.Close()
	ws := &socket{conn: conn, msgs: make(chan string, 4096), done: make(chan struct{})}
	go func() {
		defer close(ws.done)
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				ws.err = err
				return
			}
			ws.msgs <- string(msg)
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-ws.done
	})
	return ws
}

// next returns the next message for which match holds, failing the test when none
// arrives within the deadline.
func (ws *socket) next(t *testing.T, within time.Duration, what string, match func(string) bool) string {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case m := <-ws.msgs:
			if match(m) {
				return m
			}
		case <-ws.done:
			t.Fatalf("socket closed (%v) before %s", ws.err, what)
		case <-timeout:
			t.Fatalf("no push with %s within %v", what, within)
		}
	}
}

var successRe = regexp.MustCompile(`data-testid="count-success">([0-9,]+)<`)

// successCount is the succeeded-days counter of a pushed fragment, or -1 without one.
func successCount(fragment string) int {
	m := successRe.FindStringSubmatch(fragment)
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	if err != nil {
		return -1
	}
	return n
}

// TestTwoServersShareOneDatabase starts a batch on server A, which has the workers, and
// watches and cancels it from server B, which has none: the progress reaches B's
// WebSocket and the cancel reaches A's workers only through PostgreSQL.
func TestTwoServersShareOneDatabase(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	a := startServer(t, db, "A", "--workers", "2")
	b := startServer(t, db, "B", "--workers", "0")

	var started struct {
		TaskID    string `json:"task_id"`
		TotalDays int    `json:"total_days"`
	}
	apiCall(t, http.MethodPost, a.url("/api/v1/sync-status/sync/batch"),
		`{"start_date":"2025-03-01","end_date":"2025-04-30"}`, &started)
	id := started.TaskID
	require.Equal(t, 61, started.TotalDays)

	ws := dial(t, b, "/ws/batches/"+id)
	first := ws.next(t, 10*time.Second, "the full state", func(string) bool { return true })
	require.Contains(t, first, `id="batch-grid"`, "the first push is the whole page state")
	require.Contains(t, first, `id="batch-status"`)
	// Days loaded by A show up on B.
	ws.next(t, 20*time.Second, "a day loaded by A", func(m string) bool { return successCount(m) > 0 })

	var cancel struct {
		Action string `json:"action"`
		Batch  string `json:"batch_status"`
	}
	apiCall(t, http.MethodPost, b.url("/api/v1/sync-status/sync/batch/"+id+"/cancel"), "", &cancel)
	require.Equal(t, "cancel", cancel.Action)
	require.Contains(t, []string{"cancelling", "cancelled"}, cancel.Batch)

	cancelled := time.Now()
	snap := waitStatus(t, b, id, market.BatchCancelled, 20*time.Second)
	t.Logf("cancelled %v after the cancel request", time.Since(cancelled).Round(time.Millisecond))
	onA := snapshotOf(t, a, id)
	require.Equal(t, []int{snap.Success, snap.Failed, snap.Skipped, snap.Cancelled}, []int{onA.Success, onA.Failed, onA.Skipped, onA.Cancelled},
		"both servers tell the same")
	require.Equal(t, snap.Status, onA.Status)
	require.Positive(t, snap.Success)
	require.Positive(t, snap.Cancelled, "days not run yet are cancelled")
	require.Zero(t, snap.Running)
	require.Zero(t, snap.Pending)
	require.NotNil(t, snap.CancelledBy)
	require.Contains(t, *snap.CancelledBy, "api")

	require.Positive(t, daysLogged(a, id), "A loaded the days")
	require.Zero(t, daysLogged(b, id), "B, with no workers, loaded none")

	final := ws.next(t, 10*time.Second, "the final state", func(m string) bool {
		return strings.Contains(m, `data-testid="final-message"`)
	})
	_, status, found := strings.Cut(final, `id="batch-status"`)
	require.True(t, found, "the final push has the status block")
	status, _, _ = strings.Cut(status, `id="batch-controls"`)
	require.Contains(t, status, "badge-cancelled")
	require.Contains(t, status, fmt.Sprintf("cancelled: %d loaded", snap.Success))

	// SIGTERM: both exit cleanly, and B closes the socket with 1012 so browsers reconnect.
	servers := []*server{a, b}
	took := make([]time.Duration, len(servers))
	exits := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() { took[i], exits[i] = s.terminate() })
	}
	wg.Wait()
	for i, s := range servers {
		require.NoError(t, exits[i], "server %s exit", s.name)
		require.Less(t, took[i], 15*time.Second, "server %s took %v to stop", s.name, took[i])
		t.Logf("server %s stopped in %v", s.name, took[i].Round(time.Millisecond))
	}
	select {
	case <-ws.done:
	case <-time.After(10 * time.Second):
		t.Fatal("B's socket still open after B stopped")
	}
	var ce *websocket.CloseError
	require.ErrorAs(t, ws.err, &ce)
	require.Equal(t, websocket.CloseServiceRestart, ce.Code)
	require.Equal(t, "server shutting down", ce.Text)
}

// chromium is Debian's browser, which .ci/run installs.
const chromium = "/usr/bin/chromium"

// newBrowser starts headless Chromium for the test and returns a tab's context; the
// browser's exceptions and console errors are logged when the test fails.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no %s (apt-get install chromium); the browser test runs in CI", chromium)
		}
		t.Fatalf("CI needs %s for the browser test: %v", chromium, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	t.Cleanup(cancel)
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)

	var mu sync.Mutex
	var events []string
	note := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, fmt.Sprintf(format, args...))
	}
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(note))
	t.Cleanup(func() {
		_ = chromedp.Cancel(tab) // closes the browser gracefully
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
		// Chromium's helpers may still write to the profile for a moment after it exits;
		// empty it here so TempDir's own removal does not fail the test.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if err := os.RemoveAll(profile); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			t.Logf("browser events:\n%s", strings.Join(events, "\n"))
		}
	})
	chromedp.ListenTarget(tab, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			note("exception: %s", ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeWarning {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				note("console.%s: %s", ev.Type, strings.Join(parts, " "))
			}
		}
	})
	begin := time.Now()
	require.NoError(t, chromedp.Run(tab), "starting Chromium")
	t.Logf("Chromium started in %v", time.Since(begin).Round(time.Millisecond))
	return tab
}

// eval runs a JavaScript expression in the tab and stores its result in out.
func eval(t *testing.T, tab context.Context, expr string, out any) {
	t.Helper()
	require.NoError(t, chromedp.Run(tab, chromedp.Evaluate(expr, out)), expr)
}

// waitFor polls the tab until the JavaScript expression is true; on timeout it fails the
// test with what describe (an expression) says about the page.
func waitFor(t *testing.T, tab context.Context, within time.Duration, what, expr, describe string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var ok bool
		eval(t, tab, "Boolean("+expr+")", &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var state string
			_ = chromedp.Run(tab, chromedp.Evaluate(describe, &state))
			t.Fatalf("%s: not within %v; page: %s", what, within, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserStartWatchCancel picks dates in Chromium, starts a batch with htmx, watches
// its page change through WebSocket pushes without a reload, and cancels it.
func TestBrowserStartWatchCancel(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	const password = "browser test password"
	srv := startServerEnv(t, pgtest.NewDB(t), "web",
		[]string{"MARKETSYNC_ANONYMOUS=none", "MARKETSYNC_ADMIN_PASSWORD=" + password}, "--workers", "1")
	const (
		start = "2025-05-01"
		end   = "2025-06-30"
	)

	// Nobody is signed in: the dashboard sends the browser to the login page, and back.
	require.NoError(t, chromedp.Run(tab,
		chromedp.Navigate(srv.url("/")),
		chromedp.WaitVisible(`#l-name`, chromedp.ByQuery),
		chromedp.SendKeys(`#l-name`, "admin", chromedp.ByQuery),
		chromedp.SendKeys(`#l-password`, password, chromedp.ByQuery),
		chromedp.Submit(`#l-password`, chromedp.ByQuery),
	))

	// The dashboard: pick the dates and submit (htmx sends the session's CSRF token).
	require.NoError(t, chromedp.Run(tab,
		chromedp.WaitVisible(`#start-form button[type=submit]`, chromedp.ByQuery),
		chromedp.SetValue(`#f-start_date`, start, chromedp.ByQuery),
		chromedp.SetValue(`#f-end_date`, end, chromedp.ByQuery),
		chromedp.Evaluate(`for (const id of ["f-start_date", "f-end_date"]) {
			const el = document.getElementById(id);
			el.dispatchEvent(new Event("input", {bubbles: true}));
			el.dispatchEvent(new Event("change", {bubbles: true}));
		}`, nil),
	))
	var picked []string
	eval(t, tab, `[...new FormData(document.getElementById("start-form")).entries()].map(e => e.join("="))`, &picked)
	require.Contains(t, picked, "start_date="+start)
	require.Contains(t, picked, "end_date="+end)
	require.Contains(t, picked, "datasets=daily", "the daily dataset is ticked by default")
	eval(t, tab, `window.__dashboard = 1`, nil)
	require.NoError(t, chromedp.Run(tab, chromedp.Click(`#start-form button[type=submit]`, chromedp.ByQuery)))
	submitted := time.Now()

	// htmx answers with the batch's link and the batch in the running list.
	waitFor(t, tab, 15*time.Second, "the started batch's link",
		`document.querySelector('#start-flash a[href^="/batches/"]')`,
		`document.getElementById("start-form").outerHTML + document.getElementById("start-flash").outerHTML`)
	var href string
	eval(t, tab, `document.querySelector('#start-flash a[href^="/batches/"]').getAttribute("href")`, &href)
	id := strings.TrimPrefix(href, "/batches/")
	require.True(t, strings.HasPrefix(id, "2025-05-01_2025-06-30_"), href)
	waitFor(t, tab, 10*time.Second, "the batch in the running list",
		fmt.Sprintf(`document.getElementById(%q)`, "active-"+id),
		`document.getElementById("active-batches").innerText`)
	var marker int
	eval(t, tab, `window.__dashboard`, &marker)
	require.Equal(t, 1, marker, "the form was submitted with htmx, not by a page load")

	// The batch's page: progress changes with no reload.
	require.NoError(t, chromedp.Run(tab,
		chromedp.Navigate(srv.url(href)),
		chromedp.WaitVisible(`#batch-progress`, chromedp.ByQuery),
	))
	eval(t, tab, `window.__marker = 1`, nil)
	const describe = `document.getElementById("live-indicator").dataset.state + " | " +
		document.getElementById("batch-status").innerText + " | " +
		document.getElementById("batch-progress").innerText`
	waitFor(t, tab, 15*time.Second, "the live indicator connected",
		`document.getElementById("live-indicator").dataset.state === "connected"`, describe)
	const progressText = `document.querySelector('#batch-progress [data-testid=percent]').textContent.trim() + " " +
		document.querySelector('#batch-progress [data-testid=count-success]').textContent.trim()`
	var before string
	eval(t, tab, progressText, &before)
	waitFor(t, tab, 15*time.Second, "progress past "+before,
		progressText+` !== `+strconv.Quote(before), describe)
	var after string
	eval(t, tab, progressText, &after)
	t.Logf("progress went from %q to %q", before, after)
	eval(t, tab, `window.__marker`, &marker)
	require.Equal(t, 1, marker, "the page was not reloaded")
	var live string
	eval(t, tab, `document.getElementById("live-indicator").innerText.trim()`, &live)
	require.Equal(t, views.T(views.LangEN, "live.connected"), live)
	var status string
	eval(t, tab, `document.querySelector("#batch-status .badge").className`, &status)
	require.Contains(t, status, "badge-running", "still running: there is something to cancel")

	// Cancel: confirm the dialog and click the button where it is on screen (pushes
	// replace the controls block, so a node found before the click may be gone by then).
	var pos []float64
	eval(t, tab, `(() => {
		window.confirm = (q) => { window.__confirmed = q; return true; };
		const b = document.querySelector('#batch-controls button[data-action=cancel]');
		b.scrollIntoView({block: "center"});
		const r = b.getBoundingClientRect();
		return [r.x + r.width / 2, r.y + r.height / 2];
	})()`, &pos)
	require.Len(t, pos, 2)
	require.NoError(t, chromedp.Run(tab, chromedp.MouseClickXY(pos[0], pos[1])))
	t.Logf("cancel clicked %v after the batch was started", time.Since(submitted).Round(time.Millisecond))
	waitFor(t, tab, 20*time.Second, "the cancelled state",
		`document.querySelector("#batch-status .badge-cancelled") && document.querySelector('#batch-status [data-testid=final-message]')`,
		describe)
	var confirmed, final string
	eval(t, tab, `window.__confirmed || ""`, &confirmed)
	require.Equal(t, views.T(views.LangEN, "action.cancel_confirm"), confirmed, "the cancel asked for confirmation")
	eval(t, tab, `document.querySelector('#batch-status [data-testid=final-message]').innerText`, &final)
	require.True(t, strings.HasPrefix(final, "cancelled: "), final)
	eval(t, tab, `window.__marker`, &marker)
	require.Equal(t, 1, marker, "the page was not reloaded")
	var cancelButtons int
	eval(t, tab, `document.querySelectorAll('#batch-controls button[data-action=cancel]').length`, &cancelButtons)
	require.Zero(t, cancelButtons, "a cancelled batch has no cancel button")

	// The API answers the signed-in browser (its session cookie) and nobody else.
	var snap struct {
		Data market.Snapshot `json:"data"`
	}
	require.NoError(t, chromedp.Run(tab, chromedp.Evaluate(
		fmt.Sprintf(`fetch("/api/v1/sync-status/sync/batch/progress/%s").then(r => r.json())`, id), &snap,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })))
	require.Equal(t, market.BatchCancelled, snap.Data.Status)
	require.NotNil(t, snap.Data.CancelledBy)
	require.Equal(t, "admin", *snap.Data.CancelledBy, "cancelled by the user, not an address")
	require.Positive(t, snap.Data.Cancelled)
	resp, err := httpClient.Get(srv.url("/api/v1/sync-status/sync/batch/progress/" + id))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	took, exit := srv.terminate()
	require.NoError(t, exit)
	t.Logf("server stopped in %v", took.Round(time.Millisecond))
}
