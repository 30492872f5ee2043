package engine

import (
	"context"
	"fmt"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// StockLister is a source that knows every stock, listed, delisted or suspended.
type StockLister interface {
	StockBasic(ctx context.Context) (market.Rows, error)
}

// RefreshStocks replaces the stock list (stock_basic) with the source's, and returns how
// many stocks it holds. A source without a stock list is an input error.
func (e *Engine) RefreshStocks(ctx context.Context) (int64, error) {
	src, ok := e.src.(StockLister)
	if !ok {
		return 0, fmt.Errorf("%w: the %s source has no stock list", market.ErrUnknownDataset, sourceName(e.src))
	}
	rows, err := src.StockBasic(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing the stocks: %w", err)
	}
	n, err := store.ReplaceStocks(ctx, e.pool, rows)
	if err == nil {
		e.log.Info("stock list refreshed", "stocks", n, "source", sourceName(e.src))
	}
	return n, err
}
