package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

func TestSnapshotCountsAndETA(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { v := t0.Add(time.Duration(s) * time.Second); return &v }
	day := func(d string, st market.DayStatus, start, end *time.Time) store.Day {
		dd, _ := market.ParseDate(d)
		return store.Day{Dataset: "daily", Day: dd, Status: st, StartedAt: start, FinishedAt: end, Trading: true}
	}
	msg := "connection timeout"
	days := []store.Day{
		// Skipped days are instant: they must not make the batch look fast.
		day("2025-10-04", market.DaySkipped, nil, at(0)),
		day("2025-10-05", market.DaySkipped, nil, at(0)),
		day("2025-10-06", market.DaySucceeded, at(0), at(10)),
		day("2025-10-07", market.DaySucceeded, at(0), at(10)),
		day("2025-10-08", market.DayFailed, at(10), at(20)),
		day("2025-10-09", market.DaySucceeded, at(10), at(20)),
		day("2025-10-10", market.DayRunning, at(20), nil),
		day("2025-10-13", market.DayPending, nil, nil),
		day("2025-10-14", market.DayPending, nil, nil),
		day("2025-10-15", market.DayPending, nil, nil),
	}
	days[4].Error = &msg
	b := &store.Batch{TaskID: "x", Status: market.BatchRunning, Total: len(days), TradingDays: len(days), StartedAt: at(0), RunStartedAt: at(0)}
	s := buildSnapshot(b, days, recentErrors{}, *at(25), 2, nil)
	require.Equal(t, 3, s.Success)
	require.Equal(t, 1, s.Failed)
	require.Equal(t, 2, s.Skipped)
	require.Equal(t, 2, s.AlreadyLoaded, "trading days skipped: loaded already")
	require.Equal(t, 0, s.Closed)
	require.Equal(t, 6, s.Current)
	require.Equal(t, 60.0, s.ProgressPercent)
	require.Equal(t, "2025-10-10", *s.CurrentDate)
	require.Len(t, s.InFlight, 1)
	require.Len(t, s.Errors, 1)
	require.Equal(t, "2025-10-08", s.Errors[0].Date)
	require.Equal(t, msg, s.Errors[0].Error)
	// Four synced days over 20 s with two workers: 5 s a day; four days left: 20 s.
	require.NotNil(t, s.EstimatedCompletion)
	require.Equal(t, at(45), s.EstimatedCompletion)
	require.Equal(t, "syncing 2025-10-10... (60.0%)", s.Message)

	// Before enough days for a measured rate: the mean day over the parallelism.
	early := buildSnapshot(b, append([]store.Day{days[2]}, days[7:]...), recentErrors{}, *at(10), 2, nil)
	require.Equal(t, at(10+3*5), early.EstimatedCompletion)

	// Under a rate limit of a day every 10 s, four days left cannot take less than 40 s,
	// and the limit gives an estimate before any day is done.
	paced := func(string) time.Duration { return 10 * time.Second }
	require.Equal(t, at(25+40), buildSnapshot(b, days, recentErrors{}, *at(25), 2, paced).EstimatedCompletion)
	require.Equal(t, at(3*10), buildSnapshot(b, days[7:], recentErrors{}, *at(0), 2, paced).EstimatedCompletion)
	// A slow measured rate is kept when it is slower than the limit.
	fast := func(string) time.Duration { return time.Second }
	require.Equal(t, at(45), buildSnapshot(b, days, recentErrors{}, *at(25), 2, fast).EstimatedCompletion)
}
