package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// Watch calls fn with the batch's snapshot now, at every change announced on
// ProgressChannel (from any process), and at least every refresh so elapsed time and ETA
// move; it returns the final snapshot once the batch has finished, or ctx's error.
func (e *Engine) Watch(ctx context.Context, taskID string, refresh time.Duration, fn func(*market.Snapshot)) (*market.Snapshot, error) {
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+ProgressChannel); err != nil {
		return nil, fmt.Errorf("listening for progress: %w", err)
	}
	defer func() {
		// The connection goes back to the pool: stop listening first.
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Exec(bg, "UNLISTEN "+ProgressChannel)
	}()
	for {
		snap, err := e.Snapshot(ctx, taskID)
		if err != nil {
			return nil, err
		}
		fn(snap)
		if snap.Finished() {
			return snap, nil
		}
		for {
			wait, cancel := context.WithTimeout(ctx, refresh)
			n, err := conn.Conn().WaitForNotification(wait)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return snap, ctx.Err()
				}
				if errors.Is(err, context.DeadlineExceeded) {
					break // refresh
				}
				return snap, fmt.Errorf("waiting for progress: %w", err)
			}
			if n.Payload == taskID {
				break
			}
		}
	}
}
