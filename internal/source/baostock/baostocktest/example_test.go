package baostocktest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/source/baostock"
	"github.com/marketsync/marketsync/internal/source/baostock/baostocktest"
	"github.com/marketsync/marketsync/internal/source/demo"
)

// The fake answers the captured requests with the captured bytes.
func Example_captures() {
	srv, err := baostocktest.Start(baostocktest.Config{CaptureDir: "../testdata"})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	c := baostock.New(&baostock.Config{Addr: srv.Addr()})
	defer c.Close()

	info, err := c.StockBasic(context.Background(), "sh.600000")
	if err != nil {
		panic(err)
	}
	fmt.Println(info[0].Code, info[0].Name, info[0].IPODate.Format("2006-01-02"))
	// Output: sh.600000 浦发银行 1999-11-10
}

// The fake serves the demo market through the protocol; in a test, New closes it at the
// end. Faults make it misbehave on the next request of a type.
func Example_demoMarket() {
	cal, err := calendar.New()
	if err != nil {
		panic(err)
	}
	src := demo.New(cal, demo.Config{})
	srv, err := baostocktest.Start(baostocktest.Config{Market: src, Calendar: cal})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	c := baostock.New(&baostock.Config{Addr: srv.Addr()})
	defer c.Close()
	ctx := context.Background()

	stocks, err := c.Universe(ctx, time.Date(1995, 1, 3, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	r, err := c.FetchStock(ctx, stocks[0], time.Date(1995, 1, 3, 0, 0, 0, 0, time.UTC), time.Date(1995, 1, 6, 0, 0, 0, 0, time.UTC), baostock.FetchOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(r.Daily) > 0, baostock.DailyColumns()[:4])

	srv.Inject(baostocktest.Fault{Kind: baostocktest.DropMidFrame, Type: baostock.TypeKData})
	_, err = c.FetchStock(ctx, stocks[0], time.Date(1995, 1, 3, 0, 0, 0, 0, time.UTC), time.Date(1995, 1, 6, 0, 0, 0, 0, time.UTC), baostock.FetchOptions{})
	fmt.Println(err != nil, srv.Stats().Connections)
	// Output:
	// true [ts_code trade_date open high]
	// true 1
}
