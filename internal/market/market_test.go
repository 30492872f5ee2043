package market

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseDate(t *testing.T) {
	t.Parallel()
	d, err := ParseDate("2025-10-09")
	require.NoError(t, err)
	require.Equal(t, time.Date(2025, 10, 9, 0, 0, 0, 0, time.UTC), d)
	require.Equal(t, time.UTC, d.Location(), "trading dates carry no zone of their own")
	for _, s := range []string{"", "2025-13-01", "2025-02-30", "2025/10/09", "2025-10-9", "20251009", " 2025-10-09"} {
		_, err := ParseDate(s)
		require.ErrorIs(t, err, ErrInvalidDate, "%q", s)
		require.True(t, IsInputError(err))
		require.Equal(t, fmt.Sprintf("invalid date: %q is not a date in the form YYYY-MM-DD", s), err.Error())
	}
}

func TestTodayAndPublication(t *testing.T) {
	t.Parallel()
	// 16:30 UTC is 00:30 the next day in China.
	require.Equal(t, time.Date(2025, 10, 10, 0, 0, 0, 0, time.UTC), Today(time.Date(2025, 10, 9, 16, 30, 0, 0, time.UTC)))
	require.Equal(t, time.Date(2025, 10, 9, 0, 0, 0, 0, time.UTC), Today(time.Date(2025, 10, 9, 15, 59, 0, 0, time.UTC)))
	at := PublishedAt(time.Date(2025, 10, 9, 0, 0, 0, 0, time.UTC), 17, 0)
	require.Equal(t, time.Date(2025, 10, 9, 9, 0, 0, 0, time.UTC), at.UTC(), "17:00 China time")
}

func TestNormalizeDatasets(t *testing.T) {
	t.Parallel()
	got, err := NormalizeDatasets(nil)
	require.NoError(t, err)
	require.Equal(t, []string{"daily"}, got, "none means daily")
	got, err = NormalizeDatasets([]string{"daily_basic", "daily", "daily_basic"})
	require.NoError(t, err)
	require.Equal(t, []string{"daily", "daily_basic"}, got, "display order, no duplicates")
	_, err = NormalizeDatasets([]string{"daily", "minute"})
	require.ErrorIs(t, err, ErrUnknownDataset)
	require.True(t, IsInputError(err))
	require.Equal(t, `unknown dataset "minute" (known: [daily adj_factor daily_basic])`, err.Error())
}

func TestCheckPriority(t *testing.T) {
	t.Parallel()
	for p := PriorityUrgent; p <= PriorityLow; p++ {
		require.NoError(t, CheckPriority(p))
	}
	for _, p := range []int{-1, 0, 5} {
		err := CheckPriority(p)
		require.ErrorIs(t, err, ErrInvalidInput)
		require.Equal(t, fmt.Sprintf("invalid input: priority must be 1 (urgent) to 4 (low), not %d", p), err.Error())
	}
}

func TestStatusFilterRoundTrips(t *testing.T) {
	t.Parallel()
	names := []string{FilterUnfinished, FilterWithFailures}
	for _, st := range BatchStatuses() {
		names = append(names, string(st))
	}
	for _, name := range names {
		var f BatchFilter
		require.True(t, f.ParseStatusFilter(name), name)
		require.Equal(t, name, f.StatusFilter())
	}
	var f BatchFilter
	require.True(t, f.ParseStatusFilter(FilterWithFailures))
	require.Equal(t, BatchFilter{Status: BatchCompleted, WithFailures: true}, f, "completed, with failed days")
	f = BatchFilter{}
	require.True(t, f.ParseStatusFilter(FilterUnfinished))
	require.Equal(t, BatchFilter{Unfinished: true}, f)

	f = BatchFilter{Dataset: "daily"}
	for _, bad := range []string{"done", "Completed", " running"} {
		require.False(t, f.ParseStatusFilter(bad), bad)
	}
	require.Equal(t, BatchFilter{Dataset: "daily"}, f, "an unknown name changes nothing")
	require.Empty(t, BatchFilter{}.StatusFilter())
}

func TestStatesFinish(t *testing.T) {
	t.Parallel()
	finished := map[BatchStatus]bool{BatchCompleted: true, BatchFailed: true, BatchCancelled: true}
	require.Len(t, BatchStatuses(), 7)
	for _, st := range BatchStatuses() {
		require.Equal(t, finished[st], st.Finished(), st)
		require.Equal(t, !finished[st], st.Active(), st)
	}
	for st, want := range map[DayStatus]bool{DayPending: false, DayRunning: false, DaySucceeded: true,
		DayFailed: true, DaySkipped: true, DayCancelled: true} {
		require.Equal(t, want, st.Finished(), st)
	}
}

func TestInputErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{ErrInvalidDate, ErrInvalidRange, ErrOutsideCalendar, ErrNotTradingDay,
		ErrNotPublished, ErrTooLarge, ErrUnknownDataset, ErrInvalidInput} {
		require.True(t, IsInputError(fmt.Errorf("start_date: %w", err)), err)
	}
	for _, err := range []error{nil, ErrNotFound, ErrConflict, ErrNoData, ErrSourceRefused, errors.New("boom")} {
		require.False(t, IsInputError(err), err)
	}
}

func days(ss ...string) []time.Time {
	var out []time.Time
	for _, s := range ss {
		d, err := ParseDate(s)
		if err != nil {
			panic(err)
		}
		out = append(out, d)
	}
	return out
}

func TestDaysErrorSaysWhichDaysAndWhy(t *testing.T) {
	t.Parallel()
	closed := &DaysError{Err: ErrNotTradingDay, Days: days("2025-10-04", "2025-10-05")}
	require.Equal(t, "not a trading day: 2025-10-04, 2025-10-05: the exchanges are closed then, so there is nothing to load", closed.Error())
	require.ErrorIs(t, closed, ErrNotTradingDay)
	require.True(t, IsInputError(fmt.Errorf("days: %w", closed)))

	early := &DaysError{Err: ErrNotPublished, Days: days("2025-10-09"), PublishedAt: "17:00", Latest: days("2025-09-30")[0]}
	require.Equal(t, "not published yet: 2025-10-09: the source publishes a trading day's data at 17:00 China time that day; "+
		"the latest day ready now is 2025-09-30", early.Error())
	early.Latest = time.Time{}
	require.Contains(t, early.Error(), "the latest day ready now is none yet")
	require.ErrorIs(t, early, ErrNotPublished)

	many := &DaysError{Err: ErrNotTradingDay, Days: days("2025-10-01", "2025-10-02", "2025-10-03", "2025-10-04",
		"2025-10-05", "2025-10-06", "2025-10-07")}
	require.Equal(t, "2025-10-01, 2025-10-02, 2025-10-03, 2025-10-04, 2025-10-05 (+2)", many.DayList())
}

func TestSizeErrorSaysTheCap(t *testing.T) {
	t.Parallel()
	err := &SizeError{Days: 8000, Max: 7305}
	require.Equal(t, "batch too large: the batch covers 8000 days; a batch may cover at most 7305 (about 20 years), so split it", err.Error())
	require.ErrorIs(t, err, ErrTooLarge)
	require.True(t, IsInputError(err))
}

func TestInMovesEveryTimeIntoTheZone(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("CST", 8*60*60)
	at := time.Date(2025, 10, 9, 1, 2, 3, 0, time.UTC)
	ptr := func(t time.Time) *time.Time { return &t }
	s := (&Snapshot{StartTime: ptr(at), EstimatedCompletion: ptr(at), CreatedAt: at,
		Errors: []ErrorEntry{{Time: at}}}).In(zone)
	for _, got := range []time.Time{*s.StartTime, *s.EstimatedCompletion, s.CreatedAt, s.Errors[0].Time} {
		require.Equal(t, zone, got.Location())
		require.True(t, got.Equal(at), "the same instant")
	}
	require.Nil(t, s.EndTime, "unknown times stay null")
	require.NotNil(t, s.InFlight, "lists are empty, never null")

	empty := (&Snapshot{}).In(zone)
	require.True(t, empty.CreatedAt.IsZero())
	require.Equal(t, []ErrorEntry{}, empty.Errors)
	require.Equal(t, []InFlight{}, empty.InFlight)

	c := (&Coverage{Days: []CoverageDay{{SyncedAt: at}, {}}}).In(zone)
	require.Equal(t, zone, c.Days[0].SyncedAt.Location())
	require.True(t, c.Days[1].SyncedAt.IsZero())
	require.Equal(t, []CoverageDay{}, (&Coverage{}).In(zone).Days)

	sums := SummariesIn([]BatchSummary{{CreatedAt: at, EndTime: ptr(at)}}, zone)
	require.Equal(t, zone, sums[0].CreatedAt.Location())
	require.Equal(t, zone, sums[0].EndTime.Location())
	require.Nil(t, sums[0].StartTime)
	require.Equal(t, []BatchSummary{}, SummariesIn(nil, zone))
	require.Equal(t, zone, ErrorsIn([]ErrorRecord{{Time: at}}, zone)[0].Time.Location())
	require.Equal(t, []ErrorRecord{}, ErrorsIn(nil, zone))
}

func TestActorAndElapsed(t *testing.T) {
	t.Parallel()
	require.Equal(t, "web 127.0.0.1", Actor{By: OriginWeb, From: "127.0.0.1"}.String())
	require.Equal(t, "cli", Actor{By: OriginCLI}.String())

	start := time.Date(2025, 10, 9, 1, 0, 0, 0, time.UTC)
	end := start.Add(90 * time.Second)
	s := &Snapshot{}
	require.Zero(t, s.Elapsed(end), "not started")
	s.StartTime = &start
	require.Equal(t, time.Minute, s.Elapsed(start.Add(time.Minute)), "running: until now")
	s.EndTime = &end
	require.Equal(t, 90*time.Second, s.Elapsed(start.Add(time.Hour)), "finished: its whole run")
}
