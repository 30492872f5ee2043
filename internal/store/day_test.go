package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
)

// dayFixture loads pgtest.DayMarketFixture and returns the day markets over it.
func dayFixture(t *testing.T) DayMarkets {
	t.Helper()
	pool := setup(t)
	_, err := pool.Exec(context.Background(), pgtest.DayMarketFixture)
	require.NoError(t, err)
	return DayMarkets{Pool: pool}
}

func dayQuery(t *testing.T, sortKey, order, board, hit string, limit, offset int) market.DayQuery {
	t.Helper()
	q, err := market.NewDayQuery(date("2025-10-09"), sortKey, order, board, hit)
	require.NoError(t, err)
	q.Limit, q.Offset = limit, offset
	return q
}

func codes(rows []market.DayRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.TSCode
	}
	return out
}

func TestDayBreadthTotalsAndFilters(t *testing.T) {
	t.Parallel()
	m := dayFixture(t)
	ctx := context.Background()

	d, err := m.Day(ctx, dayQuery(t, "", "", "", "", 50, 0))
	require.NoError(t, err)
	require.Equal(t, 8, d.Stocks)
	require.Equal(t, 8, d.Total)
	require.Equal(t, market.Breadth{Up: 4, Flat: 1, Down: 3, LimitUp: 2, LimitDown: 2}, d.Breadth)
	require.Equal(t, 8550.0, d.Vol)
	require.Equal(t, 10023.0, d.Amount)
	require.Equal(t, "2025-09-30", *d.Prev)
	require.Equal(t, "2025-10-10", *d.Next)
	require.Equal(t, []string{"920001.BJ", "600000.SH", "300001.SZ", "300002.SZ", "000001.SZ", "000002.SZ", "600001.SH", "688001.SH"},
		codes(d.Items), "pct_chg descending by default, ties by code")
	byCode := map[string]market.DayRow{}
	for _, r := range d.Items {
		byCode[r.TSCode] = r
	}
	require.Equal(t, market.BoardMain, byCode["000002.SZ"].Board, "a stock stock_basic lacks gets its board from its code")
	require.Nil(t, byCode["000002.SZ"].TurnoverRate)
	require.Equal(t, "特锐德", byCode["300001.SZ"].Name)
	require.Equal(t, 40.0, *byCode["300001.SZ"].PETTM)

	d, err = m.Day(ctx, dayQuery(t, "", "", "main", "", 2, 0))
	require.NoError(t, err)
	require.Equal(t, 8, d.Stocks)
	require.Equal(t, 4, d.Total)
	require.Equal(t, market.Breadth{Up: 1, Flat: 1, Down: 2, LimitUp: 1, LimitDown: 1}, d.Breadth, "the whole filtered day, not the page")
	require.Equal(t, 6900.0, d.Vol)
	require.Equal(t, 7843.0, d.Amount)
	require.Equal(t, []string{"600000.SH", "000001.SZ"}, codes(d.Items))

	d, err = m.Day(ctx, dayQuery(t, "code", "asc", "", "up", 50, 0))
	require.NoError(t, err)
	require.Equal(t, []string{"600000.SH", "920001.BJ"}, codes(d.Items))
	require.Equal(t, 1050.0, d.Vol)
	require.Equal(t, 1165.0, d.Amount)

	d, err = m.Day(ctx, dayQuery(t, "", "", "main", "down", 50, 0))
	require.NoError(t, err)
	require.Equal(t, []string{"600001.SH"}, codes(d.Items))
	require.Equal(t, market.LimitDown, d.Items[0].Limit)

	d, err = m.Day(ctx, dayQuery(t, "", "", "chinext", "up", 50, 0))
	require.NoError(t, err)
	require.Zero(t, d.Total, "ChiNext's 10% is not its limit")
	require.Empty(t, d.Items)
}

func TestDaySortsAndPages(t *testing.T) {
	t.Parallel()
	m := dayFixture(t)
	ctx := context.Background()
	for _, c := range []struct {
		sortKey, order string
		limit, offset  int
		want           []string
	}{
		{"code", "asc", 3, 3, []string{"300002.SZ", "600000.SH", "600001.SH"}},
		{"code", "desc", 2, 0, []string{"920001.BJ", "688001.SH"}},
		{"pct_chg", "desc", 3, 3, []string{"300002.SZ", "000001.SZ", "000002.SZ"}},
		{"pe_ttm", "asc", 50, 0, []string{"000001.SZ", "600000.SH", "920001.BJ", "300002.SZ", "300001.SZ", "688001.SH", "000002.SZ", "600001.SH"}},
		{"pe_ttm", "desc", 3, 4, []string{"600000.SH", "000001.SZ", "000002.SZ"}},
		{"turnover_rate", "desc", 50, 0, []string{"920001.BJ", "300002.SZ", "300001.SZ", "688001.SH", "600000.SH", "600001.SH", "000001.SZ", "000002.SZ"}},
		{"amount", "desc", 2, 0, []string{"000001.SZ", "600000.SH"}},
		{"vol", "asc", 2, 0, []string{"920001.BJ", "600001.SH"}},
		{"close", "asc", 2, 0, []string{"300002.SZ", "000002.SZ"}},
		{"code", "asc", 5, 8, []string{}},
	} {
		d, err := m.Day(ctx, dayQuery(t, c.sortKey, c.order, "", "", c.limit, c.offset))
		require.NoError(t, err)
		require.Equal(t, c.want, codes(d.Items), "%s %s limit %d offset %d", c.sortKey, c.order, c.limit, c.offset)
		require.Equal(t, 8, d.Total)
	}
}

func TestDayWithoutDataNamesTheNearestDays(t *testing.T) {
	t.Parallel()
	m := dayFixture(t)
	_, err := m.Day(context.Background(), market.DayQuery{Date: date("2025-10-01"), Sort: "code", Limit: 50})
	var nd *market.NoDayError
	require.ErrorAs(t, err, &nd)
	require.True(t, errors.Is(err, market.ErrNotFound))
	require.Equal(t, date("2025-09-30"), *nd.Prev)
	require.Equal(t, date("2025-10-09"), *nd.Next)

	_, err = m.Day(context.Background(), market.DayQuery{Date: date("2030-01-02"), Sort: "code", Limit: 50})
	require.ErrorAs(t, err, &nd)
	require.Equal(t, date("2025-10-10"), *nd.Prev)
	require.Nil(t, nd.Next)
}

func TestExportDayWritesTheFilteredDayAsCSV(t *testing.T) {
	t.Parallel()
	m := dayFixture(t)
	var buf bytes.Buffer
	n, err := m.ExportDay(context.Background(), &buf, dayQuery(t, "code", "asc", "main", "", 0, 0))
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
	recs, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, DayCSVColumns, recs[0])
	require.Equal(t, []string{"2025-10-09", "000001.SZ", "平安银行", "主板", "12", "12.1", "11.9", "12", "12", "0", "0", "5000", "6000", "0.3", "5", ""}, recs[1])
	require.Equal(t, []string{"000002.SZ", "", "", ""}, []string{recs[2][1], recs[2][2], recs[2][13], recs[2][15]}, "nulls are empty fields")
	require.Equal(t, "up", recs[3][15])
	require.Equal(t, "600001.SH", recs[4][1])
	require.Len(t, recs, 5)
}

// TestLimitSQLAgreesWithMarket checks the SQL of dayRows against market.LimitOf on
// thousands of closes at, and a fen inside, each board's limits.
func TestLimitSQLAgreesWithMarket(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 9))
	boards := []string{market.BoardMain, market.BoardChiNext, market.BoardSTAR, market.BoardBSE, "CDR"}
	var basics, bars [][]any
	want := map[string]market.LimitHit{}
	for i := range 3000 {
		code := fmt.Sprintf("%06d.SH", i)
		board, name := boards[i%len(boards)], "股票"
		if i%3 == 0 {
			name = "*ST 股票"
		}
		pre := float64(100+rng.IntN(20000)) / 100
		up, down := market.LimitPrices(pre, market.LimitPercent(board, name))
		close := []float64{up, up - 0.01, down, down + 0.01, pre}[i%5]
		basics = append(basics, []any{code, name, board})
		bars = append(bars, []any{code, date("2025-10-09"), close, pre})
		want[code] = market.LimitOf(board, name, pre, close)
	}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"stock_basic"}, []string{"ts_code", "name", "market"}, pgx.CopyFromRows(basics))
	require.NoError(t, err)
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"daily_bar"}, []string{"ts_code", "trade_date", "close", "pre_close"}, pgx.CopyFromRows(bars))
	require.NoError(t, err)

	d, err := DayMarkets{Pool: pool}.Day(ctx, market.DayQuery{Date: date("2025-10-09"), Sort: "code", Limit: 5000})
	require.NoError(t, err)
	require.Len(t, d.Items, len(want))
	hits := map[market.LimitHit]int{}
	for _, r := range d.Items {
		require.Equal(t, want[r.TSCode], r.Limit, "%s %s %s pre %v close %v", r.TSCode, r.Board, r.Name, *r.PreClose, *r.Close)
		hits[r.Limit]++
	}
	require.Equal(t, map[market.LimitHit]int{market.LimitUp: 600, market.LimitDown: 600, market.LimitNone: 1800}, hits,
		"a fifth at each limit, three fifths inside")
}
