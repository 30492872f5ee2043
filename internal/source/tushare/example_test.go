package tushare_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/tushare"
	"github.com/marketsync/marketsync/internal/store"
)

// How main wires the source: the token and limits from the environment, calls cleared
// by the limiter every process shares through PostgreSQL, a day fetched whole before
// any transaction opens.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := tushare.ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Fatal(err) // names TUSHARE_TOKEN when it is missing, never prints a token
	}
	pool, err := store.Open(ctx, os.Getenv("DATABASE_URL"), 4)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	src, err := tushare.New(store.NewRateLimiter(pool, nil), &cfg)
	if err != nil {
		log.Fatal(err)
	}
	daily, _ := market.LookupDataset("daily")
	rows, err := src.Fetch(ctx, daily, time.Date(2025, 10, 9, 0, 0, 0, 0, time.UTC))
	if err != nil {
		log.Fatal(err) // errors.Is market.ErrSourceRefused, ErrQuotaExhausted, ErrDatasetRefused, or transient
	}
	fmt.Println(market.RowCount(rows), "rows, all in memory")
}
