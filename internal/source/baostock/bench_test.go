package baostock_test

import (
	"context"
	"testing"

	"github.com/marketsync/marketsync/internal/source/baostock"
	"github.com/marketsync/marketsync/internal/source/baostock/baostocktest"
)

// BenchmarkFetchStock fetches one stock over 2024 (k data and factors, about 240 rows)
// from the fake: the client's and the mapping's cost per stock, the fake's included,
// the network's not.
func BenchmarkFetchStock(b *testing.B) {
	src, err := shared()
	if err != nil {
		b.Fatal(err)
	}
	cal, err := sharedCal()
	if err != nil {
		b.Fatal(err)
	}
	srv := baostocktest.New(b, baostocktest.Config{Market: src, Calendar: cal})
	c := baostock.New(&baostock.Config{Addr: srv.Addr()})
	defer c.Close()
	ctx := context.Background()
	codes, err := c.Universe(ctx, date("2024-01-02"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.FetchStock(ctx, codes[0], date("2024-01-01"), date("2024-12-31"), baostock.FetchOptions{}); err != nil {
		b.Fatal(err) // warms the fake's day cache
	}
	i := 0
	for b.Loop() {
		if _, err := c.FetchStock(ctx, codes[i%len(codes)], date("2024-01-01"), date("2024-12-31"), baostock.FetchOptions{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
