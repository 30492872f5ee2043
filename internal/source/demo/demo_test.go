package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/market"
)

// Compile-time check that Fetch has the engine's Source shape.
var _ interface {
	Fetch(ctx context.Context, ds market.Dataset, day time.Time) (market.Rows, error)
} = (*Source)(nil)

func date(s string) time.Time {
	d, err := market.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// shared is one warm market for the read-only tests: building one costs a cold walk.
var shared = sync.OnceValues(func() (*Source, error) {
	cal, err := calendar.New()
	if err != nil {
		return nil, err
	}
	return New(cal, Config{Now: afterCalendar}), nil
})

// afterCalendar is a clock past the calendar's end: every trading day is published.
func afterCalendar() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }

func setup(t testing.TB) (*Source, market.Dataset) {
	t.Helper()
	s, err := shared()
	require.NoError(t, err)
	ds, err := market.LookupDataset("daily")
	require.NoError(t, err)
	return s, ds
}

// row is one daily row, prices back in cents for exact checks.
type row struct {
	code                              string
	day                               time.Time
	open, high, low, close, pre, chg  int64
	pct, vol, amount                  float64
	rawOpen, rawClose, rawPre, rawChg float64
}

func cents(t testing.TB, v any) int64 {
	f, ok := v.(float64)
	c := math.Round(f * 100)
	if !ok || math.Abs(c/100-f) > 1e-9 { // require is slow for millions of checks
		t.Helper()
		require.Failf(t, "not a price", "%T %v is not a float64 on the 0.01 tick", v, v)
	}
	return int64(c)
}

func fetch(t testing.TB, s *Source, ds market.Dataset, day time.Time) []row {
	t.Helper()
	rs, err := s.Fetch(context.Background(), ds, day)
	require.NoError(t, err)
	var out []row
	for rs.Next() {
		v, err := rs.Values()
		if err != nil || len(v) != len(ds.Columns) {
			require.Failf(t, "bad values", "%v %v", v, err)
		}
		r := row{code: v[0].(string), day: v[1].(time.Time)}
		r.open, r.high, r.low, r.close = cents(t, v[2]), cents(t, v[3]), cents(t, v[4]), cents(t, v[5])
		r.pre, r.chg = cents(t, v[6]), cents(t, v[7])
		r.pct, r.vol, r.amount = v[8].(float64), v[9].(float64), v[10].(float64)
		r.rawOpen, r.rawClose, r.rawPre, r.rawChg = v[2].(float64), v[5].(float64), v[6].(float64), v[7].(float64)
		out = append(out, r)
	}
	require.NoError(t, rs.Err())
	return out
}

func byCode(rows []row) map[string]row {
	m := make(map[string]row, len(rows))
	for _, r := range rows {
		m[r.code] = r
	}
	return m
}

// alive lists the stocks listed on day, suspended or not.
func alive(s *Source, day time.Time) map[string]Stock {
	m := make(map[string]Stock)
	for _, st := range s.Stocks() {
		if !st.ListDate.After(day) && (st.DelistDate.IsZero() || day.Before(st.DelistDate)) {
			m[st.Code] = st
		}
	}
	return m
}

func TestSameRowsFromSeparateSourcesInAnyOrder(t *testing.T) {
	t.Parallel()
	cal, err := calendar.New()
	require.NoError(t, err)
	ds, err := market.LookupDataset("daily")
	require.NoError(t, err)
	// Across a month boundary, a weekend and a year boundary.
	days := []time.Time{date("2023-12-29"), date("2024-01-02"), date("2024-01-31"),
		date("2024-02-01"), date("2024-02-05")}

	a, b := New(cal, Config{Seed: 7, Now: afterCalendar}), New(cal, Config{Seed: 7, Now: afterCalendar})
	got := make(map[time.Time][]row)
	for _, d := range days {
		got[d] = fetch(t, a, ds, d)
		require.NotEmpty(t, got[d])
	}
	for _, d := range slices.Backward(days) {
		require.Equal(t, got[d], fetch(t, b, ds, d), "day %s fetched in reverse order", d.Format(market.DateLayout))
	}
	// Fetched again, concurrently, once the months are cached.
	var wg sync.WaitGroup
	again := make([][]row, len(days))
	for i, d := range days {
		wg.Go(func() { again[i] = fetch(t, a, ds, d) })
	}
	wg.Wait()
	for i, d := range days {
		require.Equal(t, got[d], again[i])
	}
	// Another seed is another market.
	old := date("1995-06-01")
	require.NotEqual(t, fetch(t, a, ds, old), fetch(t, New(cal, Config{Seed: 8, Now: afterCalendar}), ds, old))
}

func TestMoreThan5400StocksTrade(t *testing.T) {
	t.Parallel()
	s, ds := setup(t)
	day := date("2025-10-09")
	rows := fetch(t, s, ds, day)
	require.GreaterOrEqual(t, len(rows), 5400)
	live := alive(s, day)
	require.GreaterOrEqual(t, len(live), len(rows))
	require.Greater(t, len(s.Stocks()), len(live), "some stocks are delisted or list later")
	for _, r := range rows {
		_, ok := live[r.code] // (require.Contains scans maps: too slow for thousands of rows)
		require.True(t, ok, r.code)
		require.Equal(t, day, r.day)
	}
	require.True(t, slices.IsSortedFunc(rows, func(a, b row) int { return strings.Compare(a.code, b.code) }))
	// The benchmark year has as many: a trading day is 5,400+ stocks there too.
	for _, d := range []string{"2024-01-02", "2024-06-28", "2024-12-31"} {
		require.GreaterOrEqual(t, len(fetch(t, s, ds, date(d))), 5400, d)
	}
}

func TestCodesNamesAndBoards(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	stocks := s.Stocks()
	codeRE := regexp.MustCompile(`^(\d{3})\d{3}\.(SH|SZ|BJ)$`)
	want := map[string]struct {
		board    Board
		exchange string
		from     time.Time
	}{
		"600": {BoardMain, "SH", date("1991-01-01")}, "601": {BoardMain, "SH", date("2001-01-01")},
		"603": {BoardMain, "SH", date("2011-01-01")}, "605": {BoardMain, "SH", date("2020-01-01")},
		"688": {BoardSTAR, "SH", date("2019-07-22")},
		"000": {BoardMain, "SZ", date("1991-01-01")}, "001": {BoardMain, "SZ", date("2021-01-01")},
		"002": {BoardMain, "SZ", date("2004-06-25")}, "003": {BoardMain, "SZ", date("2020-10-01")},
		"300": {BoardChiNext, "SZ", date("2009-10-30")}, "301": {BoardChiNext, "SZ", date("2020-08-24")},
		"920": {BoardBSE, "BJ", date("2021-11-15")},
	}
	seen := make(map[string]int)
	var st, starST, delisted, late int
	for i, x := range stocks {
		m := codeRE.FindStringSubmatch(x.Code)
		require.NotNil(t, m, x.Code)
		w, ok := want[m[1]]
		require.True(t, ok, "unexpected code range %s", x.Code)
		require.Equal(t, w.board, x.Board, x.Code)
		require.Equal(t, w.exchange, m[2], x.Code)
		require.False(t, x.ListDate.Before(w.from), "%s lists %s", x.Code, x.ListDate)
		if i > 0 {
			require.Less(t, stocks[i-1].Code, x.Code, "codes are unique and sorted")
		}
		require.NotEmpty(t, x.Name)
		switch {
		case strings.HasPrefix(x.Name, "*ST"):
			starST++
		case strings.HasPrefix(x.Name, "ST"):
			st++
		}
		if !x.DelistDate.IsZero() {
			delisted++
			require.True(t, x.DelistDate.After(x.ListDate.AddDate(1, 0, 0)), x.Code)
		}
		if x.ListDate.Year() >= 2025 {
			late++
		}
		seen[m[1]]++
	}
	require.Len(t, seen, len(want), "every code range is populated")
	require.Greater(t, st, 20)
	require.Greater(t, starST, 20)
	require.Greater(t, delisted, 100)
	require.Greater(t, late, 50)
	for _, x := range stocks {
		if x.Board == BoardSTAR && x.ListDate.Equal(date("2019-07-22")) {
			seen["star day one"]++
		}
	}
	require.Equal(t, 25, seen["star day one"], "the STAR market opened with 25 stocks")
}

func TestPricesRespectLimitsAndTushareArithmetic(t *testing.T) {
	t.Parallel()
	s, ds := setup(t)
	index := make(map[string]int)
	for i := range s.gen.stocks {
		index[s.gen.stocks[i].info.Code] = i
	}
	days := []string{"1996-05-06", "2009-10-30", "2019-07-22", "2020-08-21", "2020-08-24",
		"2021-11-15", "2024-02-05", "2024-02-06", "2025-10-09"}
	var limitUp, limitDown, stRows int
	for _, d := range days {
		day := date(d)
		tday, ok := s.gen.dayIndex(dayNumber(day))
		require.True(t, ok)
		for _, r := range fetch(t, s, ds, day) {
			st := &s.gen.stocks[index[r.code]]
			pct := st.limitPct(s.gen.info[tday])
			isST := st.st>>(day.Year()-s.gen.firstYear)&1 == 1
			switch {
			case st.info.Board == BoardBSE:
				require.EqualValues(t, 30, pct)
			case st.info.Board == BoardSTAR || st.info.Board == BoardChiNext && d >= "2020-08-24":
				require.EqualValues(t, 20, pct)
			case isST:
				require.EqualValues(t, 5, pct)
				stRows++
			default:
				require.EqualValues(t, 10, pct)
			}
			require.Positive(t, r.pre, r.code)
			down := int64(math.Round(float64(r.pre) * float64(100-pct) / 100))
			up := int64(math.Round(float64(r.pre) * float64(100+pct) / 100))
			for _, p := range []int64{r.open, r.high, r.low, r.close} {
				require.True(t, p >= down && p <= up, "%s %s: %d outside [%d, %d]", d, r.code, p, down, up)
			}
			require.LessOrEqual(t, r.low, min(r.open, r.close), r.code)
			require.GreaterOrEqual(t, r.high, max(r.open, r.close), r.code)
			require.Equal(t, r.close-r.pre, r.chg, r.code)
			require.InDelta(t, math.Round((r.rawClose-r.rawPre)*100)/100, r.rawChg, 1e-9)
			// pct_chg is change/pre_close×100 rounded to 4 places.
			require.InDelta(t, float64(r.chg)/float64(r.pre)*100, r.pct, 0.00005+1e-9, "%s %s pct_chg", d, r.code)
			require.InDelta(t, math.Round(r.pct*10_000)/10_000, r.pct, 1e-9, "%s %s pct_chg", d, r.code)
			require.Positive(t, r.vol, r.code)
			require.Equal(t, math.Round(r.vol), r.vol, "vol in whole lots")
			// amount (thousand yuan) = vol lots × 100 shares × a price within the day's range.
			require.GreaterOrEqual(t, r.amount, r.vol*float64(r.low)/1000-1e-6, r.code)
			require.LessOrEqual(t, r.amount, r.vol*float64(r.high)/1000+1e-6, r.code)
			if r.close == up {
				limitUp++
			}
			if r.close == down {
				limitDown++
			}
		}
	}
	require.Positive(t, limitUp, "some stocks close at the limit up")
	require.Positive(t, limitDown, "some stocks close at the limit down")
	require.Positive(t, stRows, "some ST stocks trade within ±5%")
}

func TestPreCloseIsThePreviousClose(t *testing.T) {
	t.Parallel()
	s, ds := setup(t)
	// Friday to Monday, across a month, across the National Day holiday.
	days := []string{"2024-01-26", "2024-01-29", "2024-01-30", "2024-01-31", "2024-02-01",
		"2025-09-30", "2025-10-09", "2025-10-10"}
	var prev map[string]row
	var suspended = make(map[string]row) // traded the day before a day it was missing
	resumed := 0
	for i, d := range days {
		cur := byCode(fetch(t, s, ds, date(d)))
		if i > 0 && days[i-1][:7] == d[:7] || d == "2024-02-01" || d == "2025-10-09" {
			matched := 0
			for code, r := range cur {
				if p, ok := prev[code]; ok {
					require.Equal(t, p.close, r.pre, "%s %s pre_close", d, code)
					matched++
				} else if p, ok := suspended[code]; ok {
					require.Equal(t, p.close, r.pre, "%s %s pre_close after a suspension", d, code)
					resumed++
				}
			}
			require.Greater(t, matched, 4500)
			for code, p := range prev {
				if _, ok := cur[code]; !ok {
					suspended[code] = p
				}
			}
		} else {
			clear(suspended)
		}
		prev = cur
	}
	require.Positive(t, resumed, "some stock resumed after a suspension")
}

func TestNoRowsOutsideListing(t *testing.T) {
	t.Parallel()
	s, ds := setup(t)
	cal, err := calendar.New()
	require.NoError(t, err)
	var listed, delisted []Stock
	for _, x := range s.Stocks() {
		if x.ListDate.Year() == 2024 && x.ListDate.Month() <= 3 {
			listed = append(listed, x)
		}
		if !x.DelistDate.IsZero() && x.DelistDate.Year() == 2024 && x.DelistDate.Month() <= 3 {
			delisted = append(delisted, x)
		}
	}
	require.NotEmpty(t, listed)
	require.NotEmpty(t, delisted)
	rowsOn := make(map[time.Time]map[string]row)
	get := func(d time.Time) map[string]row {
		if rowsOn[d] == nil {
			rowsOn[d] = byCode(fetch(t, s, ds, d))
		}
		return rowsOn[d]
	}
	for _, x := range listed {
		before, err := cal.Previous(x.ListDate)
		require.NoError(t, err)
		_, ok := get(before)[x.Code]
		require.False(t, ok, "%s trades on %s, before its listing", x.Code, before)
		r, ok := get(x.ListDate)[x.Code]
		require.True(t, ok, "%s trades on its listing day %s", x.Code, x.ListDate)
		i, _ := slices.BinarySearchFunc(s.gen.stocks, x.Code, func(st stock, c string) int { return strings.Compare(st.info.Code, c) })
		require.Equal(t, s.gen.stocks[i].issue, r.pre, "pre_close of the listing day is the issue price")
	}
	for _, x := range delisted {
		_, ok := get(x.DelistDate)[x.Code]
		require.False(t, ok, "%s trades on its delisting day", x.Code)
		traded := false
		for d := x.DelistDate; !traded; {
			d, err = cal.Previous(d)
			require.NoError(t, err)
			_, traded = get(d)[x.Code]
			require.False(t, d.Before(x.DelistDate.AddDate(0, 0, -20)), "%s last traded long before its delisting", x.Code)
		}
	}
	// And on a sample of days, every row belongs to a stock listed that day.
	for _, d := range []string{"1993-03-01", "2012-06-01", "2024-03-01"} {
		live := alive(s, date(d))
		for code := range get(date(d)) {
			_, ok := live[code]
			require.True(t, ok, "%s: %s is not listed", d, code)
		}
	}
}

func TestAFewStocksAreSuspendedEachDay(t *testing.T) {
	t.Parallel()
	s, ds := setup(t)
	days, err := s.cal.TradingDays(date("2024-06-03"), date("2024-06-14"))
	require.NoError(t, err)
	var missing []string
	for _, d := range days {
		live := alive(s, d)
		n := len(fetch(t, s, ds, d))
		suspended := len(live) - n
		require.Positive(t, suspended, d)
		require.Less(t, suspended, len(live)/50, "%s: %d of %d suspended", d, suspended, len(live))
		missing = append(missing, fmt.Sprint(suspended))
	}
	t.Logf("suspended per day: %s", strings.Join(missing, " "))
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	cfg, err := ConfigFromEnv(env(nil))
	require.NoError(t, err)
	require.Equal(t, Config{}, cfg)
	cfg, err = ConfigFromEnv(env(map[string]string{EnvLatency: "200ms", EnvFailRate: "0.05"}))
	require.NoError(t, err)
	require.Equal(t, Config{Latency: 200 * time.Millisecond, FailRate: 0.05}, cfg)
	for _, bad := range []map[string]string{
		{EnvLatency: "200"}, {EnvLatency: "soon"}, {EnvLatency: "-1s"},
		{EnvFailRate: "1.5"}, {EnvFailRate: "-0.1"}, {EnvFailRate: "5%"}, {EnvFailRate: "NaN"},
	} {
		_, err := ConfigFromEnv(env(bad))
		require.Error(t, err, bad)
		for k, v := range bad {
			require.ErrorContains(t, err, k)
			require.ErrorContains(t, err, v)
		}
	}
}

func TestLatencyWaitsAndHonorsCancellation(t *testing.T) {
	t.Parallel()
	shared, ds := setup(t)
	s := &Source{cfg: Config{Latency: time.Hour}, cal: shared.cal, gen: shared.gen}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := s.Fetch(ctx, ds, date("2024-02-05"))
	require.ErrorIs(t, err, context.DeadlineExceeded)

	s = &Source{cfg: Config{Latency: 30 * time.Millisecond}, cal: shared.cal, gen: shared.gen}
	start := time.Now()
	rs, err := s.Fetch(context.Background(), ds, date("2024-02-05"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	require.True(t, rs.Next())
}

func TestCancelMidStream(t *testing.T) {
	t.Parallel()
	s, ds := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	rs, err := s.Fetch(ctx, ds, date("2024-02-05"))
	require.NoError(t, err)
	for range 10 {
		require.True(t, rs.Next())
	}
	cancel()
	n := 0
	for rs.Next() {
		n++
	}
	require.Less(t, n, ctxCheckEvery)
	require.ErrorIs(t, rs.Err(), context.Canceled)
}

// drain fetches day and reads every row; it returns the rows read and the error.
func drain(s *Source, ds market.Dataset, day time.Time) (int, error) {
	rs, err := s.Fetch(context.Background(), ds, day)
	if err != nil {
		return 0, err
	}
	n := 0
	for rs.Next() {
		n++
	}
	return n, rs.Err()
}

func TestFailRate(t *testing.T) {
	t.Parallel()
	shared, ds := setup(t)
	day := date("2024-02-05")
	with := func(rate float64) *Source {
		return &Source{cfg: Config{FailRate: rate}, cal: shared.cal, gen: shared.gen}
	}

	s := with(1)
	midStream := 0
	for range 60 {
		n, err := drain(s, ds, day)
		require.ErrorIs(t, err, ErrTransient)
		require.ErrorContains(t, err, "2024-02-05")
		if n > 0 {
			midStream++
		}
	}
	require.Positive(t, midStream, "some failures come after some rows")
	require.Less(t, midStream, 20)

	s = with(0)
	for range 20 {
		n, err := drain(s, ds, day)
		require.NoError(t, err)
		require.Greater(t, n, 5000)
	}

	// At 30%, a day fails now and then, and a retry of that day succeeds.
	s = with(0.3)
	var failed, succeeded int
	messages := make(map[string]bool)
	for range 100 {
		_, err := drain(s, ds, date("1995-06-01"))
		if err != nil {
			require.ErrorIs(t, err, ErrTransient)
			messages[errors.Unwrap(err).Error()] = true
			failed++
		} else {
			succeeded++
		}
	}
	require.InDelta(t, 30, failed, 20)
	require.Positive(t, succeeded)
	require.Greater(t, len(messages), 2, "failures vary: %v", messages)
}

func TestFetchEdgeCases(t *testing.T) {
	t.Parallel()
	s, ds := setup(t)
	_, err := s.Fetch(context.Background(), market.Dataset{Name: "minute"}, date("2024-02-05"))
	require.ErrorIs(t, err, market.ErrUnknownDataset)

	_, err = s.Fetch(context.Background(), ds, date("1980-01-02"))
	require.ErrorIs(t, err, market.ErrOutsideCalendar)

	require.Empty(t, fetch(t, s, ds, date("2024-02-03")), "a Saturday has no rows")
	require.Empty(t, fetch(t, s, ds, date("2025-10-01")), "National Day has no rows")

	// A date in another zone is read as its calendar date.
	shanghai := time.FixedZone("CST", 8*3600)
	rows := fetch(t, s, ds, time.Date(2024, 2, 5, 9, 30, 0, 0, shanghai))
	require.Equal(t, fetch(t, s, ds, date("2024-02-05")), rows)
	require.Equal(t, date("2024-02-05"), rows[0].day)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Fetch(ctx, ds, date("2024-02-05"))
	require.ErrorIs(t, err, context.Canceled)
}

func TestPricesStayRealistic(t *testing.T) {
	t.Parallel()
	s, ds := setup(t)
	for _, d := range []string{"1998-07-01", "2015-06-12", "2026-12-31"} {
		rows := fetch(t, s, ds, date(d))
		closes := make([]int64, len(rows))
		for i, r := range rows {
			closes[i] = r.close
			require.GreaterOrEqual(t, r.close, int64(50), "%s %s under 0.50 yuan", d, r.code)
			require.Less(t, r.close, int64(200_000), "%s %s over 2,000 yuan", d, r.code)
		}
		slices.Sort(closes)
		median := closes[len(closes)/2]
		require.True(t, median > 500 && median < 3000, "%s median close %d cents", d, median)
	}
}

// BenchmarkFetchDay streams every row of trading days of 2024 from a warm market (its
// monthly checkpoints computed), as the engine's COPY would.
func BenchmarkFetchDay(b *testing.B) {
	s, ds := setup(b)
	days, err := s.cal.TradingDays(date("2024-01-01"), date("2024-12-31"))
	require.NoError(b, err)
	_, err = drain(s, ds, days[len(days)-1]) // warm-up: the checkpoints up to November
	require.NoError(b, err)
	b.ReportAllocs()
	rows := 0
	for i := 0; b.Loop(); i++ {
		n, err := drain(s, ds, days[i%len(days)])
		if err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
}

// BenchmarkFetchDayCold builds a new market and fetches its last trading day: the first
// access, which walks every stock from its listing.
func BenchmarkFetchDayCold(b *testing.B) {
	cal, err := calendar.New()
	require.NoError(b, err)
	ds, err := market.LookupDataset("daily")
	require.NoError(b, err)
	last, err := cal.LastTradingDay(cal.Last())
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := drain(New(cal, Config{Now: afterCalendar}), ds, last); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew measures listing the market's stocks, done once when the app starts.
func BenchmarkNew(b *testing.B) {
	cal, err := calendar.New()
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		New(cal, Config{})
	}
}

func TestUnpublishedDaysHaveNoRows(t *testing.T) {
	t.Parallel()
	cal, err := calendar.New()
	require.NoError(t, err)
	ds, err := market.LookupDataset("daily")
	require.NoError(t, err)
	day := date("2025-10-09")
	at := func(clock string) int {
		now, err := time.Parse(time.RFC3339, clock)
		require.NoError(t, err)
		return len(fetch(t, New(cal, Config{Now: func() time.Time { return now }}), ds, day))
	}
	require.Zero(t, at("2025-10-09T16:59:00+08:00"), "before the day is published")
	require.Positive(t, at("2025-10-09T17:00:00+08:00"))
}
