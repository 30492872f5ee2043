package engine

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// CancelChannel is the PostgreSQL NOTIFY channel on which a stopped batch's id is
// announced (cancelled, or failed by its source): every process stops the days of that
// batch it is loading, and they roll back.
const CancelChannel = "marketsync_cancel"

// inflight tracks the contexts of the days this process is loading, by batch, so that a
// stop can cancel them.
type inflight struct {
	mu   sync.Mutex
	next uint64
	m    map[int64]map[uint64]context.CancelCauseFunc
}

// track returns a context for one day of batchID that stopBatch cancels, and the func
// to call when the day is done.
func (f *inflight) track(ctx context.Context, batchID int64) (context.Context, func()) {
	dayCtx, cancel := context.WithCancelCause(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[int64]map[uint64]context.CancelCauseFunc)
	}
	if f.m[batchID] == nil {
		f.m[batchID] = make(map[uint64]context.CancelCauseFunc)
	}
	f.next++
	id := f.next
	f.m[batchID][id] = cancel
	return dayCtx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.m[batchID], id)
		if len(f.m[batchID]) == 0 {
			delete(f.m, batchID)
		}
		cancel(nil)
	}
}

// stopBatch cancels every day of batchID this process is loading.
func (f *inflight) stopBatch(batchID int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cancel := range f.m[batchID] {
		cancel(errBatchStopped)
	}
	return len(f.m[batchID])
}

// announceStop tells every process, at tx's commit, to stop batchID's days.
func announceStop(ctx context.Context, tx pgx.Tx, batchID int64) error {
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", CancelChannel, strconv.FormatInt(batchID, 10))
	return err
}

// listenStops stops the local days of every batch announced on CancelChannel until ctx
// ends, on a connection of its own that it takes again when it drops. A stop missed
// meanwhile still holds: the day's transaction refuses to commit for a stopped batch.
func (e *Engine) listenStops(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := e.listenStopsOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		e.log.Warn("lost the connection that listens for cancelled batches; listening again", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (e *Engine) listenStopsOnce(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, e.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer func() {
		bg, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(bg)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{CancelChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if id, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			if stopped := e.inflight.stopBatch(id); stopped > 0 {
				e.log.Info("stopping the days of a stopped batch", "batch_id", id, "days", stopped)
			}
		}
	}
}
