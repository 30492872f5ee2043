package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// StockLister is a source that knows every stock, listed, delisted or suspended.
type StockLister interface {
	StockBasic(ctx context.Context) (market.Rows, error)
}

// RefreshStocks replaces the stock list (stock_basic) with the default source's, and
// returns how many stocks it holds. A source without a stock list is an input error.
func (e *Engine) RefreshStocks(ctx context.Context) (int64, error) {
	return e.refreshStocks(ctx, e.src)
}

func (e *Engine) refreshStocks(ctx context.Context, s Source) (int64, error) {
	src, ok := s.(StockLister)
	if !ok {
		return 0, fmt.Errorf("%w: the %s source has no stock list", market.ErrUnknownDataset, sourceName(s))
	}
	rows, err := src.StockBasic(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing the stocks: %w", err)
	}
	n, err := store.ReplaceStocks(ctx, e.pool, rows)
	if err == nil {
		e.log.Info("stock list refreshed", "stocks", n, "source", sourceName(s))
	}
	return n, err
}

// stocksArgs is the job that refreshes the stock list from a source. Each batch from a
// source with a stock list queues one; a source's jobs queued within stocksEvery of each
// other are one job.
type stocksArgs struct {
	Source string `json:"source"`
}

// Kind is the River job kind.
func (stocksArgs) Kind() string { return "marketsync.stocks" }

// stocksEvery is the least time between two refreshes of one source's stock list by
// batches.
const stocksEvery = 10 * time.Minute

// enqueueStocks queues the refresh of src's stock list in tx, unless src has none or a
// refresh was queued lately.
func (e *Engine) enqueueStocks(ctx context.Context, tx pgx.Tx, src Source, queue string) error {
	if _, ok := src.(StockLister); !ok {
		return nil
	}
	_, err := e.river.InsertTx(ctx, tx, stocksArgs{Source: src.Name()}, &river.InsertOpts{
		Queue: queue, MaxAttempts: 3,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: stocksEvery},
	})
	return err
}

// stocksWorker refreshes the stock list; a failure is logged and retried by River, and
// never touches a batch.
type stocksWorker struct {
	river.WorkerDefaults[stocksArgs]
	e *Engine
}

// Work refreshes the list from the job's source. A synthetic source only fills an empty
// list: its made-up stocks never replace a real source's (`stocks refresh` still can).
func (w *stocksWorker) Work(ctx context.Context, job *river.Job[stocksArgs]) error {
	src, err := w.e.source(job.Args.Source)
	if err != nil {
		return river.JobSnooze(time.Minute) // another process has this source
	}
	if describeSource(src, false).Synthetic {
		if n, err := store.CountStocks(ctx, w.e.pool); err != nil || n > 0 {
			return err
		}
	}
	if _, err := w.e.refreshStocks(ctx, src); err != nil {
		w.e.log.Warn("refreshing the stock list failed", "source", job.Args.Source, "attempt", job.Attempt, "err", err)
		return err
	}
	return nil
}
