package demo

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/market"
)

// values fetches every row of dataset name on day, copied out of the reused slice.
func values(t testing.TB, s *Source, name string, day time.Time) [][]any {
	t.Helper()
	ds, err := market.LookupDataset(name)
	require.NoError(t, err)
	rs, err := s.Fetch(context.Background(), ds, day)
	require.NoError(t, err)
	require.Equal(t, -1, market.RowCount(rs), "the demo streams")
	var out [][]any
	for rs.Next() {
		v, err := rs.Values()
		require.NoError(t, err)
		require.Len(t, v, len(ds.Columns))
		out = append(out, slices.Clone(v))
	}
	require.NoError(t, rs.Err())
	return out
}

func TestAdjFactorStepsUpAndNeverDecreases(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	days, err := s.cal.TradingDays(date("2024-05-06"), date("2024-08-09"))
	require.NoError(t, err)
	ds, err := market.LookupDataset("adj_factor")
	require.NoError(t, err)
	listed := make(map[string]time.Time)
	for _, st := range s.Stocks() {
		listed[st.Code] = st.ListDate
	}
	prev := make(map[string]float64)
	steps := make(map[string]int)
	for _, d := range days {
		rs, err := s.Fetch(context.Background(), ds, d)
		require.NoError(t, err)
		n := 0
		for ; rs.Next(); n++ {
			v, _ := rs.Values()
			code, f := v[0].(string), v[2].(float64)
			if f < 1 || math.Abs(math.Round(f*1000)/1000-f) > 1e-9 || v[1] != d { // require is slow per row
				require.Failf(t, "bad row", "%s: %v", d, v)
			}
			if p, ok := prev[code]; ok {
				if f < p {
					require.Failf(t, "the factor decreased", "%s %s: %v after %v", d, code, f, p)
				}
				if f > p {
					steps[code]++
				}
			} else if listed[code].Equal(d) && f != 1 {
				require.Failf(t, "a new stock starts at 1", "%s %s: %v", d, code, f)
			}
			prev[code] = f
		}
		require.NoError(t, rs.Err())
		if d.Equal(days[0]) || d.Equal(days[len(days)-1]) {
			require.Len(t, alive(s, d), n, "%s: one row per listed stock, suspended ones too", d)
		}
	}
	// Ex-dates fall between mid-May and July: many stocks step once in the window.
	require.Greater(t, len(steps), 1500)
	for code, n := range steps {
		require.LessOrEqual(t, n, 1, "%s steps once a year at most", code)
	}

	// Over a whole life: a few events, each a step up, on trading days of the listing.
	c := s.gen.corporate()
	withEvents := 0
	for i := range s.gen.stocks {
		st := &s.gen.stocks[i]
		acts := c.actions[i]
		if len(acts) > 0 {
			withEvents++
		}
		years := yearOf(s.gen.days[st.delist-1]) - yearOf(s.gen.days[st.list])
		require.LessOrEqual(t, len(acts), years, st.info.Code)
		f := int64(1000)
		for _, a := range acts {
			require.Greater(t, a.factor, f, st.info.Code)
			require.True(t, a.t > st.list && a.t < st.delist, st.info.Code)
			f = a.factor
		}
	}
	require.Greater(t, withEvents, len(s.gen.stocks)*3/4)
}

func TestDailyBasicAgreesWithDaily(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	var lossPE, noDividend, firstDays int
	for _, d := range []string{"2003-06-02", "2019-07-22", "2024-02-05", "2025-10-09"} {
		day := date(d)
		bars := values(t, s, "daily", day)
		basics := values(t, s, "daily_basic", day)
		require.Len(t, basics, len(bars), "%s: a row per stock that trades", d)
		for i, b := range basics {
			bar := bars[i]
			code := b[0].(string)
			require.Equal(t, bar[0], code)
			require.Equal(t, day, b[1])
			require.Equal(t, bar[5], b[2], "%s %s: close is the daily close", d, code)
			close, vol := b[2].(float64), bar[9].(float64)
			total, float, free := b[13].(float64), b[14].(float64), b[15].(float64)
			require.True(t, free > 0 && free <= float && float <= total, "%s %s shares", d, code)
			require.InEpsilon(t, close*total, b[16].(float64), 1e-6, "total_mv = close × total_share")
			require.InEpsilon(t, close*float, b[17].(float64), 1e-6, "circ_mv = close × float_share")
			require.InDelta(t, vol*100/(float*10_000)*100, b[3].(float64), 0.00006, "turnover on the float, %")
			require.InDelta(t, vol*100/(free*10_000)*100, b[4].(float64), 0.00006, "turnover on the free float, %")
			if b[5] == nil {
				require.Equal(t, day, alive(s, day)[code].ListDate, "%s: no volume ratio but on the listing day", code)
				firstDays++
			} else {
				require.Positive(t, b[5].(float64))
			}
			for _, k := range []int{6, 7, 11, 12} { // pe, pe_ttm, dv_ratio, dv_ttm: NULL or positive
				if b[k] != nil {
					require.Positive(t, b[k].(float64), "%s %s column %d", d, code, k)
				}
			}
			for _, k := range []int{8, 9, 10} { // pb, ps, ps_ttm
				require.Positive(t, b[k].(float64), "%s %s column %d", d, code, k)
			}
			if b[6] == nil {
				lossPE++
			}
			if b[11] == nil {
				noDividend++
			}
		}
	}
	require.Positive(t, lossPE, "loss-making stocks have no pe")
	require.Positive(t, noDividend, "some stocks pay no dividend")
	require.Positive(t, firstDays, "stocks list on these days")
}

func TestStockBasicListsEveryStock(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	rs, err := s.StockBasic(context.Background())
	require.NoError(t, err)
	stocks := s.Stocks()
	require.Equal(t, len(stocks), market.RowCount(rs))
	cols := market.StockBasic().ColumnNames()
	status := make(map[string]int)
	i := 0
	for rs.Next() {
		v, err := rs.Values()
		require.NoError(t, err)
		require.Len(t, v, len(cols))
		row := make(map[string]any)
		for k, c := range cols {
			row[c] = v[k]
		}
		st := stocks[i]
		i++
		require.Equal(t, st.Code, row["ts_code"])
		require.Equal(t, st.Code[:6], row["symbol"])
		require.Equal(t, st.Name, row["name"])
		require.Equal(t, st.ListDate, row["list_date"])
		require.Equal(t, map[string]string{"SH": "SSE", "SZ": "SZSE", "BJ": "BSE"}[st.Code[7:]], row["exchange"])
		spell := row["cnspell"].(string)
		require.NotEmpty(t, spell)
		require.Equal(t, strings.ToLower(spell), spell)
		require.True(t, strings.HasSuffix(row["fullname"].(string), "股份有限公司"))
		ls := row["list_status"].(string)
		status[ls]++
		switch ls {
		case "L":
			require.True(t, st.DelistDate.IsZero())
			require.Nil(t, row["delist_date"])
		case "D":
			require.Equal(t, st.DelistDate, row["delist_date"])
		case "P":
			require.False(t, st.DelistDate.IsZero(), "a suspended listing stopped trading")
			require.Nil(t, row["delist_date"])
		default:
			require.Fail(t, "unexpected list_status", ls)
		}
	}
	require.NoError(t, rs.Err())
	require.Equal(t, len(stocks), i)
	require.Greater(t, status["L"], 5000)
	require.Greater(t, status["D"], 50)
	require.Positive(t, status["P"])
}

func TestTradeCalendar(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	ctx := context.Background()
	days, err := s.TradeCalendar(ctx, date("2025-09-28"), date("2025-10-10"))
	require.NoError(t, err)
	require.Len(t, days, 13, "every date, open or not")
	for _, d := range days {
		open, err := s.cal.IsTradingDay(d.Date)
		require.NoError(t, err)
		require.Equal(t, open, d.Open, d.Date)
	}

	// Past the holiday data, the synthetic rule: weekdays minus January 1 and the first
	// three weekdays of October.
	days, err = s.TradeCalendar(ctx, date("2026-12-30"), date("2027-10-08"))
	require.NoError(t, err)
	open := make(map[string]bool)
	for _, d := range days {
		open[d.Date.Format(market.DateLayout)] = d.Open
	}
	for d, want := range map[string]bool{"2026-12-31": true, "2027-01-01": false, "2027-01-02": false,
		"2027-01-04": true, "2027-09-30": true, "2027-10-01": false, "2027-10-04": false,
		"2027-10-05": false, "2027-10-06": true, "2027-10-08": true} {
		require.Equal(t, want, open[d], d)
	}

	_, err = s.TradeCalendar(ctx, date("1985-01-01"), date("1991-12-31"))
	require.ErrorIs(t, err, market.ErrOutsideCalendar)
	_, err = s.TradeCalendar(ctx, date("2025-01-02"), date("2025-01-01"))
	require.ErrorIs(t, err, market.ErrInvalidRange)
}

func TestNewDatasetsAreDeterministic(t *testing.T) {
	t.Parallel()
	cal, err := calendar.New()
	require.NoError(t, err)
	a := New(cal, Config{Seed: 3, Now: afterCalendar})
	b := New(cal, Config{Seed: 3, Now: afterCalendar})
	days := []time.Time{date("1995-06-01"), date("1996-07-01")}
	for _, name := range []string{"adj_factor", "daily_basic"} {
		want := [][][]any{values(t, a, name, days[0]), values(t, a, name, days[1])}
		require.Equal(t, want[1], values(t, b, name, days[1]), "in another order, from another source")
		require.Equal(t, want[0], values(t, b, name, days[0]))
		require.NotEqual(t, want[1], values(t, New(cal, Config{Seed: 4, Now: afterCalendar}), name, days[1]))
	}
	ra, err := a.StockBasic(context.Background())
	require.NoError(t, err)
	rb, err := b.StockBasic(context.Background())
	require.NoError(t, err)
	require.Equal(t, ra, rb)
}

func TestFetchRefusesForeignColumns(t *testing.T) {
	t.Parallel()
	s, ds := setup(t)
	ds.Columns = ds.Columns[:3]
	_, err := s.Fetch(context.Background(), ds, date("2024-02-05"))
	require.ErrorContains(t, err, "columns")
}

// BenchmarkFetchDailyBasic streams daily_basic days of 2024 from a warm market.
func BenchmarkFetchDailyBasic(b *testing.B) {
	s, _ := setup(b)
	ds, err := market.LookupDataset("daily_basic")
	require.NoError(b, err)
	days, err := s.cal.TradingDays(date("2024-01-01"), date("2024-12-31"))
	require.NoError(b, err)
	_, err = drain(s, ds, days[len(days)-1])
	require.NoError(b, err)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := drain(s, ds, days[i%len(days)]); err != nil {
			b.Fatal(err)
		}
	}
}
