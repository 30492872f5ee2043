package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/app"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m, "app", store.Migrate) }

// logBuffer collects the app's logs from its goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestNewNeedsADatabase(t *testing.T) {
	t.Parallel()
	_, err := app.New(context.Background(), nil)
	require.Error(t, err)
	_, err = app.New(context.Background(), &app.Config{})
	require.ErrorContains(t, err, "DatabaseURL or a Pool")
}

func TestRunServesUntilItsContextEnds(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	logs := &logBuffer{}
	workers := make(chan struct{})
	a, err := app.New(context.Background(), &app.Config{
		DatabaseURL:  pgtest.NewDB(t),
		Engine:       engine.Config{Parallelism: 1},
		Listener:     ln,
		StartWorkers: workers,
		Logger:       slog.New(slog.NewTextHandler(logs, nil)),
	})
	require.NoError(t, err)
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, logs.String(), "serving http://"+ln.Addr().String())

	// The workers wait for StartWorkers: the batch waits in the queue.
	snap, err := a.Engine.Start(ctx, market.Spec{Start: date("2025-10-09"), End: date("2025-10-09")})
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	held, err := a.Engine.Snapshot(ctx, snap.TaskID)
	require.NoError(t, err)
	require.Equal(t, market.BatchQueued, held.Status)
	require.Equal(t, 1, held.Pending)
	close(workers)
	wctx, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	final, err := a.Engine.Watch(wctx, snap.TaskID, 50*time.Millisecond, func(*market.Snapshot) {})
	require.NoError(t, err)
	require.Equal(t, market.BatchCompleted, final.Status)
	require.Equal(t, 1, final.Success)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	require.Contains(t, logs.String(), "shutting down")
	require.Contains(t, logs.String(), "stopped")
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	require.Error(t, err, "no longer listening")
}

func date(s string) time.Time {
	d, err := market.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}
