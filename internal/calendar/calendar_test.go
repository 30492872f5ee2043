package calendar_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/market"
)

func date(s string) time.Time {
	d, err := market.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func setup(t *testing.T) *calendar.Calendar {
	t.Helper()
	c, err := calendar.New()
	require.NoError(t, err)
	return c
}

func TestTradingDaysPerYear(t *testing.T) {
	t.Parallel()
	c := setup(t)
	for year, want := range map[int]int{2024: 242, 2025: 243, 2026: 242} {
		days, err := c.TradingDays(time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC))
		require.NoError(t, err)
		require.Len(t, days, want, "trading days in %d", year)
	}
}

func TestClosures2025(t *testing.T) {
	t.Parallel()
	c := setup(t)
	closed := []string{"2025-01-01", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31",
		"2025-02-03", "2025-02-04", "2025-04-04", "2025-05-01", "2025-05-02", "2025-05-05",
		"2025-06-02", "2025-10-01", "2025-10-02", "2025-10-03", "2025-10-06", "2025-10-07", "2025-10-08"}
	for _, s := range closed {
		open, err := c.IsTradingDay(date(s))
		require.NoError(t, err)
		require.False(t, open, s)
	}
	for _, s := range []string{"2025-01-02", "2025-02-05", "2025-10-09", "2025-09-30"} {
		open, err := c.IsTradingDay(date(s))
		require.NoError(t, err)
		require.True(t, open, s)
	}
}

func TestWeekendsNeverTrade(t *testing.T) {
	t.Parallel()
	c := setup(t)
	// 2025-09-28 (Sunday) and 2025-10-11 (Saturday) were official make-up workdays; the
	// exchanges stayed closed.
	for _, s := range []string{"2025-09-28", "2025-10-11", "2024-02-04", "2026-01-03"} {
		open, err := c.IsTradingDay(date(s))
		require.NoError(t, err)
		require.False(t, open, s)
	}
}

func TestSepOct2025(t *testing.T) {
	t.Parallel()
	c := setup(t)
	days, err := c.TradingDays(date("2025-09-01"), date("2025-10-31"))
	require.NoError(t, err)
	require.Len(t, days, 39)
}

func TestOutsideCalendarIsAnError(t *testing.T) {
	t.Parallel()
	c := setup(t)
	_, err := c.IsTradingDay(date("2027-01-04"))
	require.ErrorIs(t, err, market.ErrOutsideCalendar)
	_, err = c.TradingDays(date("1990-12-01"), date("1991-01-10"))
	require.ErrorIs(t, err, market.ErrOutsideCalendar)
	_, err = c.TradingDays(date("2025-10-09"), date("2025-10-01"))
	require.True(t, errors.Is(err, market.ErrInvalidRange))
}

func TestLastTradingDay(t *testing.T) {
	t.Parallel()
	c := setup(t)
	d, err := c.LastTradingDay(date("2025-10-06"))
	require.NoError(t, err)
	require.Equal(t, "2025-09-30", d.Format(market.DateLayout))
	d, err = c.Previous(date("2025-10-09"))
	require.NoError(t, err)
	require.Equal(t, "2025-09-30", d.Format(market.DateLayout))
}
