package market_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

func TestLimitPercentByBoardAndST(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		board, name string
		want        int
	}{
		{market.BoardMain, "贵州茅台", 10},
		{market.BoardMain, "ST 海润", 5},
		{market.BoardMain, "*ST 康美", 5},
		{market.BoardChiNext, "宁德时代", 20},
		{market.BoardChiNext, "*ST 天山", 20},
		{market.BoardSTAR, "中芯国际", 20},
		{market.BoardBSE, "贝特瑞", 30},
		{"CDR", "九号公司", 10},
	} {
		require.Equal(t, c.want, market.LimitPercent(c.board, c.name), "%s %s", c.board, c.name)
	}
}

func TestLimitPricesRoundToTheFen(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pre      float64
		pct      int
		up, down float64
	}{
		{10.00, 10, 11.00, 9.00},
		{10.05, 10, 11.06, 9.05}, // 11.055 and 9.045 round half up
		{3.33, 5, 3.50, 3.16},    // 3.4965 and 3.1635
		{12.34, 20, 14.81, 9.87}, // 14.808 and 9.872
		{7.77, 30, 10.10, 5.44},  // 10.101 and 5.439
		{1.01, 10, 1.11, 0.91},   // 1.111 and 0.909
	} {
		up, down := market.LimitPrices(c.pre, c.pct)
		require.InDelta(t, c.up, up, 1e-9, "up of %v at %d%%", c.pre, c.pct)
		require.InDelta(t, c.down, down, 1e-9, "down of %v at %d%%", c.pre, c.pct)
	}
}

func TestLimitOf(t *testing.T) {
	t.Parallel()
	require.Equal(t, market.LimitUp, market.LimitOf(market.BoardMain, "浦发银行", 10.05, 11.06))
	require.Equal(t, market.LimitNone, market.LimitOf(market.BoardMain, "浦发银行", 10.05, 11.05), "11.05 is a fen below 11.06")
	require.Equal(t, market.LimitDown, market.LimitOf(market.BoardMain, "浦发银行", 10.05, 9.05))
	require.Equal(t, market.LimitNone, market.LimitOf(market.BoardMain, "浦发银行", 10.05, 9.06))
	require.Equal(t, market.LimitUp, market.LimitOf(market.BoardMain, "ST 某某", 10, 10.5))
	require.Equal(t, market.LimitNone, market.LimitOf(market.BoardChiNext, "ST 某某", 10, 10.5), "ChiNext ST stocks move 20%")
	require.Equal(t, market.LimitUp, market.LimitOf(market.BoardBSE, "", 10, 13))
	require.Equal(t, market.LimitNone, market.LimitOf(market.BoardMain, "", 0, 13), "no previous close, no limit")
}

func TestBoardOfCode(t *testing.T) {
	t.Parallel()
	require.Equal(t, market.BoardMain, market.BoardOfCode("600519.SH"))
	require.Equal(t, market.BoardMain, market.BoardOfCode("000001.SZ"))
	require.Equal(t, market.BoardChiNext, market.BoardOfCode("300750.SZ"))
	require.Equal(t, market.BoardSTAR, market.BoardOfCode("688981.SH"))
	require.Equal(t, market.BoardBSE, market.BoardOfCode("920001.BJ"))
}

func TestNewDayQueryRefusesUnknownValues(t *testing.T) {
	t.Parallel()
	q, err := market.NewDayQuery(tradingDate(t, "2025-10-09"), "", "", "", "")
	require.NoError(t, err)
	require.Equal(t, "pct_chg", q.Sort)
	require.True(t, q.Desc)
	q, err = market.NewDayQuery(tradingDate(t, "2025-10-09"), "amount", "asc", "chinext", "up")
	require.NoError(t, err)
	require.Equal(t, market.DayQuery{Date: tradingDate(t, "2025-10-09"), Sort: "amount", Board: "chinext", Hit: market.LimitUp}, q)
	for _, bad := range [][4]string{
		{"name; DROP TABLE daily_bar", "", "", ""}, {"", "up", "", ""}, {"", "", "nasdaq", ""}, {"", "", "", "sideways"},
	} {
		_, err := market.NewDayQuery(tradingDate(t, "2025-10-09"), bad[0], bad[1], bad[2], bad[3])
		require.True(t, errors.Is(err, market.ErrInvalidInput), "%v", bad)
	}
}

func tradingDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := market.ParseDate(s)
	require.NoError(t, err)
	return d
}
