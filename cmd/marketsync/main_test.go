package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/store"
)

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		main() // a server process started by the end-to-end tests (e2e_test.go); exits
	}
	pgtest.Main(m, "cmd", store.Migrate)
}

// env is a getenv over database db (a URL from pgtest) plus extra variables.
func env(db string, extra ...string) func(string) string {
	// Anonymous visitors operate, as the old system's clients did: the accounts have
	// their own tests.
	vars := map[string]string{"DATABASE_URL": db, "MARKETSYNC_LOG_FORMAT": "text", "MARKETSYNC_ANONYMOUS": "operator"}
	for i := 0; i+1 < len(extra); i += 2 {
		vars[extra[i]] = extra[i+1]
	}
	return func(k string) string { return vars[k] }
}

func code(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func countBatches(t *testing.T, db string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), db)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM batches").Scan(&n))
	return n
}

func TestSyncBadInputExits2AndCreatesNothing(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	cases := map[string][]string{
		"date that doesn't parse": {"sync", "--start", "2025-13-01", "--end", "2025-10-09"},
		"end before start":        {"sync", "--start", "2025-10-09", "--end", "2025-10-01"},
		"outside the calendar":    {"sync", "--start", "1980-01-02", "--end", "1980-01-08"},
		"not published yet":       {"sync", "--start", "2099-01-05", "--end", "2099-01-09"},
		"unknown dataset":         {"sync", "--dataset", "minute", "--start", "2025-10-09"},
		"missing start":           {"sync", "--end", "2025-10-09"},
		"unknown flag":            {"sync", "--start", "2025-10-09", "--frobnicate"},
		"bad priority":            {"sync", "--start", "2025-10-09", "--priority", "7"},
		"unknown command":         {"frobnicate"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, env(db), &stdout, &stderr)
			require.Equal(t, 2, code(err), "exit code")
			var msg bytes.Buffer
			exitCode(err, &msg)
			lines := strings.Split(strings.TrimSpace(msg.String()), "\n")
			require.Len(t, lines, 1, "one line: %q", msg.String())
			require.True(t, strings.HasPrefix(lines[0], "marketsync: "), lines[0])
			require.Empty(t, stdout.String())
		})
	}
	require.Zero(t, countBatches(t, db))
}

func TestSyncJSONAndExitCodes(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	var stdout bytes.Buffer
	var stderr syncBuffer // the progress lines and the workers' logs share it
	err := run(context.Background(), []string{"sync", "--start", "2025-10-01", "--end", "2025-10-10", "--json"}, env(db), &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	var snap market.Snapshot
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &snap), stdout.String())
	require.Equal(t, market.BatchCompleted, snap.Status)
	require.Equal(t, 10, snap.Total)
	require.Equal(t, 2, snap.Success)
	require.Equal(t, 8, snap.Skipped)
	require.Contains(t, stderr.String(), "[2/2] 100.0%", "plain progress lines off a terminal: the two trading days")
	require.Regexp(t, `closed=8 `, stderr.String(), "the National Day holiday, counted apart")
	require.Regexp(t, `completed: \d loaded, \d already loaded, 0 failed`, stderr.String())
	require.Contains(t, stdout.String(), `"end_time": "`, "times are shown")
	require.Regexp(t, `"start_time": "[0-9T:.-]+\+08:00"`, stdout.String(), "in the display zone, Asia/Shanghai by default")

	// Every fetch fails: exit 1.
	stdout.Reset()
	err = run(context.Background(), []string{"sync", "--start", "2025-11-03", "--end", "2025-11-03"},
		env(db, "MARKETSYNC_DEMO_FAIL_RATE", "1"), &stdout, &stderr)
	require.Equal(t, 1, code(err))
}

func TestSyncCtrlCCancelsCleanly(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout bytes.Buffer
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sync", "--start", "2025-12-01", "--end", "2025-12-31", "--json"},
			env(db, "MARKETSYNC_DEMO_LATENCY", "300ms"), &stdout, &stderr)
	}()
	// Ctrl-C while days are in flight.
	conn, err := pgx.Connect(context.Background(), db)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.Eventually(t, func() bool {
		var running int
		err := conn.QueryRow(context.Background(), "SELECT count(*) FROM batch_days WHERE status = 'running'").Scan(&running)
		return err == nil && running > 0
	}, 30*time.Second, 20*time.Millisecond, "no day in flight:\n%s", &stderr)
	cancel()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("sync did not stop after Ctrl-C")
	}
	require.Equal(t, 130, code(err), stderr.String())
	var snap market.Snapshot
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &snap))
	require.Equal(t, market.BatchCancelled, snap.Status)
	require.Zero(t, snap.Running)
	require.Zero(t, snap.Pending)
	require.Positive(t, snap.Cancelled)
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	db := pgtest.EmptyDB(t) // not even created yet
	var stdout bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"migrate"}, env(db), &stdout, os.Stderr))
	require.Regexp(t, `^applied: river/1, .*001_init, `, stdout.String())
	stdout.Reset()
	require.NoError(t, run(context.Background(), []string{"migrate"}, env(db), &stdout, os.Stderr))
	require.Equal(t, "database is up to date\n", stdout.String())
	require.Zero(t, countBatches(t, db))
}

// syncBuffer is a bytes.Buffer safe to write from the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPasswordsAreNeverPrinted(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"postgres://postgres:sekret-pw@127.0.0.1:1/marketsync",
		"postgres://postgres@127.0.0.1:1/marketsync?password=sekret-pw",
		"host=127.0.0.1 port=1 user=postgres password=sekret-pw dbname=marketsync",
		"host=127.0.0.1 port=1 user=postgres password='sekret-pw' dbname=marketsync connect_timeout=x",
		"postgres://postgres:sekret-pw@127.0.0.1:1/marketsync?connect_timeout=x",
	} {
		for _, args := range [][]string{{"migrate"}, {"sync", "--start", "2025-10-01"}} {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, env(url), &stdout, &stderr)
			require.Error(t, err)
			var msg bytes.Buffer
			exitCode(err, &msg)
			out := msg.String() + stdout.String() + stderr.String()
			require.NotContains(t, out, "sekret", "%v with %s", args, url)
			require.Contains(t, out, "marketsync:")
		}
	}
	// A server waiting for its database says so, without the password.
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"},
			env("postgres://postgres:sekret-pw@127.0.0.1:1/marketsync"), io.Discard, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "waiting for PostgreSQL") }, 10*time.Second, 50*time.Millisecond)
	cancel()
	require.NoError(t, <-done, "stopped while waiting: a clean exit")
	require.NotContains(t, stderr.String(), "sekret")
}

func TestServeWaitsForItsDatabase(t *testing.T) {
	t.Parallel()
	proxy := pgtest.NewProxy(t, pgtest.NewDB(t))
	proxy.Down()
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, env(proxy.URL()), io.Discard, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "waiting for PostgreSQL") }, 10*time.Second, 50*time.Millisecond)
	require.NotContains(t, stderr.String(), "serving http")
	proxy.Up()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "serving http") }, 20*time.Second, 50*time.Millisecond,
		"serves once the database is up:\n%s", stderr.String())
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}
