package demo_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/demo"
)

// A day of the demo market streams one daily bar per listed stock, in code order.
func ExampleSource_Fetch() {
	cal, err := calendar.New()
	if err != nil {
		panic(err)
	}
	cfg, err := demo.ConfigFromEnv(func(string) string { return "" }) // os.Getenv in main
	if err != nil {
		panic(err)
	}
	src := demo.New(cal, cfg)
	daily, err := market.LookupDataset("daily")
	if err != nil {
		panic(err)
	}

	rows, err := src.Fetch(context.Background(), daily, time.Date(2025, 10, 9, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	n := 0
	for rows.Next() {
		v, _ := rows.Values() // ts_code, trade_date, open, high, low, close, pre_close, …
		if n == 0 {
			fmt.Println(daily.ColumnNames())
			fmt.Println(v[0], v[1].(time.Time).Format(market.DateLayout), v[2:])
		}
		n++
	}
	if err := rows.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(n > 5400)
	// Output:
	// [ts_code trade_date open high low close pre_close change pct_chg vol amount]
	// 000001.SZ 2025-10-09 [34.8 35.13 34.47 34.77 34.86 -0.09 -0.2582 24400 84863.2]
	// true
}

// Stocks lists every company the demo market ever lists, for display.
func ExampleSource_Stocks() {
	cal, err := calendar.New()
	if err != nil {
		panic(err)
	}
	for _, st := range demo.New(cal, demo.Config{}).Stocks()[:3] {
		fmt.Println(st.Code, st.Name, st.Board, st.ListDate.Format(market.DateLayout), st.DelistDate.IsZero())
	}
	// Output:
	// 000001.SZ 川兴环保 Main 1991-04-03 true
	// 000002.SZ 普源传媒 Main 1991-04-15 true
	// 000005.SZ *ST建鸿证券 Main 1991-04-25 false
}
