package demo

import (
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/marketsync/marketsync/internal/calendar"
)

// generator holds the market: its trading days, its stocks, and the monthly checkpoints
// of their price walks. Everything but the checkpoints is immutable after newGenerator.
type generator struct {
	days                         []int32   // every trading day of the calendar, as day numbers
	info                         []dayInfo // what a step of the walk needs of each trading day
	month                        []int32   // month index of each trading day (0 = January of firstYear)
	monthDay0                    []int32   // first trading-day index of each month; one extra entry at the end
	firstYear                    int
	nYears                       int
	chinext20                    int32 // day number from which ChiNext trades within ±20%
	dn2018, dn2019, dnLastDelist int32 // bounds of the delisting dates
	stocks                       []stock

	mu          sync.Mutex
	checkpoints [][]int32 // [month][stock]: close in cents after that month; 0 before listing

	corpOnce sync.Once
	corp     *corporate // corporate actions, built on first use of adj_factor or daily_basic
}

// demoStart is where the demo market's price walk begins: January 1991, whatever the
// calendar's first day (the exchange opened in December 1990, with eight stocks the demo
// does not model); the walk, and so every price, stays the same as the calendar grows.
var demoStart = time.Date(1991, 1, 1, 0, 0, 0, 0, time.UTC)

func newGenerator(cal *calendar.Calendar, seed uint64) *generator {
	first := cal.First()
	if first.Before(demoStart) {
		first = demoStart
	}
	g := &generator{
		firstYear:    first.Year(),
		nYears:       cal.Last().Year() - first.Year() + 1,
		chinext20:    mustDay("2020-08-24"),
		dn2018:       mustDay("2018-01-01"),
		dn2019:       mustDay("2019-01-01"),
		dnLastDelist: mustDay("2026-06-30"),
	}
	days, err := cal.TradingDays(first, cal.Last())
	if err != nil {
		panic(err) // the calendar's own range is always valid
	}
	nMonths := g.nYears * 12
	g.days = make([]int32, len(days))
	g.info = make([]dayInfo, len(days))
	g.month = make([]int32, len(days))
	g.monthDay0 = make([]int32, nMonths+1)
	mkey := mix(seed ^ 0x3a7e7)
	m := 0
	for t, d := range days {
		g.days[t] = dayNumber(d)
		g.month[t] = int32((d.Year()-g.firstYear)*12 + int(d.Month()) - 1)
		for m <= int(g.month[t]) {
			g.monthDay0[m] = int32(t)
			m++
		}
		g.info[t] = dayInfo{
			key: uint64(g.days[t]) * 0x9e3779b97f4a7c15,
			// The market's daily move: about normal, 1% standard deviation.
			market:        int32(normal(mix(mkey^uint64(g.days[t])*0x9e3779b97f4a7c15)) * 100 / normalSD),
			year:          uint8(d.Year() - g.firstYear),
			narrowChiNext: g.days[t] < g.chinext20,
		}
	}
	for ; m <= nMonths; m++ {
		g.monthDay0[m] = int32(len(days))
	}
	g.checkpoints = make([][]int32, 0, nMonths)
	g.stocks = g.listStocks(seed)
	return g
}

// dayIndex finds the trading-day index of day number dn.
func (g *generator) dayIndex(dn int32) (int, bool) {
	return slices.BinarySearch(g.days, dn)
}

// dayAtOrAfter returns the index of the first trading day on or after dn.
func (g *generator) dayAtOrAfter(dn int32) (int32, bool) {
	t, _ := slices.BinarySearch(g.days, dn)
	return int32(t), t < len(g.days)
}

func (g *generator) date(t int32) time.Time {
	return time.Unix(int64(g.days[t])*86400, 0).UTC()
}

// mix is the splitmix64 finalizer: a stable, well-spread 64-bit hash step.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// normal turns 36 random bits into a roughly normal integer (twice a sum of three
// uniforms) with mean 0 and standard deviation normalSD.
func normal(h uint64) int64 {
	return int64(h&0xfff+h>>12&0xfff+h>>24&0xfff)*2 - 12285
}

const normalSD = 4096

// divRound divides by a positive b, rounding halves away from zero.
func divRound(a, b int64) int64 {
	if a >= 0 {
		return (a + b/2) / b
	}
	return -((-a + b/2) / b)
}

// Suspensions: a stock is suspended on about 0.5% of its trading days.
const suspendPer65536 = 328

// dayInfo is one trading day as the walk sees it.
type dayInfo struct {
	key           uint64 // the day number, spread for hashing
	market        int32  // the market's move that day, in basis points
	year          uint8  // calendar year, from firstYear
	narrowChiNext bool   // before ChiNext's reform of 2020-08-24 (±10%)
}

// limitPct is the daily price limit, in percent of pre_close, of a stock on day d.
func (w walkParams) limitPct(d dayInfo) int64 {
	switch w.kind {
	case kindBSE:
		return 30
	case kindSTAR:
		return 20
	case kindChiNext:
		if !d.narrowChiNext {
			return 20
		}
	}
	if w.st>>d.year&1 == 1 {
		return 5
	}
	return 10
}

// limits returns the down and up limit prices (cents) for a pre_close of prev cents:
// pre_close × (1 ± limit) rounded to the tick.
func limits(prev, pct int64) (down, up int64) {
	return max(1, (prev*(100-pct)+50)/100), (prev*(100+pct) + 50) / 100
}

// move is one step of a stock's price walk on day d from the previous close prev
// (cents). It reports false when the stock is suspended that day (the price stays); the
// listing day is never suspended. h is the day's hash, for bar.
func (w walkParams) move(d dayInfo, prev int64, listing bool) (close int64, ok bool, h uint64) {
	h = mix(w.key ^ d.key)
	if h&0xffff < suspendPer65536 && !listing {
		return prev, false, h
	}
	ret := int64(d.market)*w.beta/100 + normal(h>>16)*w.sigma/normalSD
	// Mean reversion toward this year's base price: half a percent a day of the relative
	// gap (a multiplication by a precomputed reciprocal, not a division).
	yp := w.years[d.year]
	ret -= (prev - yp.base) * yp.pull >> 32
	// News: about one day in fifty moves the stock 3% to 18% more, often to the limit.
	if news := int64(h >> 52); news < 80 {
		jump := 300 + news*19
		if news&1 == 1 {
			jump = -jump
		}
		ret += jump
	}
	ret *= prev
	if ret >= 0 {
		ret = (ret + 5000) / 10_000
	} else {
		ret = -((-ret + 5000) / 10_000)
	}
	down, up := limits(prev, w.limitPct(d))
	return min(max(prev+ret, down), up), true, h
}

// walk advances st's close prev over trading days [from, to), from its listing on.
func (g *generator) walk(st *stock, prev int64, from, to int) int64 {
	to = min(to, int(st.delist))
	from = max(from, int(st.list))
	if from >= to {
		return prev
	}
	w := st.walkParams // a stack copy: the loop reads little shared memory
	list := int(st.list)
	for t, d := range g.info[from:to] {
		t += from
		if t == list {
			prev = st.issue
		}
		prev, _, _ = w.move(d, prev, t == list)
	}
	return prev
}

// checkpoint returns the closes of every stock after month m, computing the months not
// cached yet (in parallel over the stocks). It is safe for concurrent use.
func (g *generator) checkpoint(m int) []int32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m < len(g.checkpoints) {
		return g.checkpoints[m]
	}
	done := len(g.checkpoints)
	for range m + 1 - done {
		g.checkpoints = append(g.checkpoints, make([]int32, len(g.stocks)))
	}
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(g.stocks) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(g.stocks); lo += chunk {
		hi := min(lo+chunk, len(g.stocks))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				st := &g.stocks[i]
				var prev int64
				if done > 0 {
					prev = int64(g.checkpoints[done-1][i])
				}
				for k := done; k <= m; k++ {
					prev = g.walk(st, prev, int(g.monthDay0[k]), int(g.monthDay0[k+1]))
					g.checkpoints[k][i] = int32(prev)
				}
			}
		})
	}
	wg.Wait()
	return g.checkpoints[m]
}

// monthStart returns the closes of every stock before the month of trading day t (nil
// for the calendar's first month: nothing is listed yet) and that month's first day.
func (g *generator) monthStart(t int) (closes []int32, from int) {
	m := int(g.month[t])
	if m > 0 {
		closes = g.checkpoint(m - 1)
	}
	return closes, int(g.monthDay0[m])
}

// bar is one stock's daily bar, prices in cents.
type bar struct {
	open, high, low, close, pre int64
	vol                         int64 // lots of 100 shares
	amount                      int64 // yuan (= thousandths of the thousand-yuan amount)
}

// bar computes st's bar on trading day t from the previous close prev (the issue price on
// the listing day). It reports false when st has no row that day.
func (g *generator) bar(st *stock, t int, prev int64) (bar, bool) {
	if t < int(st.list) || t >= int(st.delist) {
		return bar{}, false
	}
	if t == int(st.list) {
		prev = st.issue
	}
	c, ok, h := st.move(g.info[t], prev, t == int(st.list))
	if !ok {
		return bar{}, false
	}
	h3 := mix(h ^ 0x7a3d1e)
	down, up := limits(prev, st.limitPct(g.info[t]))
	b := bar{close: c, pre: prev}
	// Open: a small gap from pre_close, a little in the day's direction.
	gap := (int64(h3&0xfff+h3>>12&0xfff)-4095)*st.sigma*2/5/1672 + (c-prev)*10_000/prev/5
	b.open = min(max(prev+divRound(prev*gap, 10_000), down), up)
	// High and low: beyond the open and close by up to ~0.8 of a usual day's move.
	b.high = min(max(b.open, c)+prev*int64(h3>>24&0xfff)*st.sigma*4/5/4096/10_000, up)
	b.low = max(min(b.open, c)-prev*int64(h3>>36&0xfff)*st.sigma*4/5/4096/10_000, down)
	// Volume: the stock's usual volume, 60-160%, more on big moves.
	size := abs(c - prev)
	b.vol = st.vol * (60 + int64(h3>>48%101) + size*10_000/prev*50/st.sigma) / 100
	avg := (b.high + b.low + 2*c) / 4
	b.amount = b.vol * avg // lots×100 shares × cents/100 = yuan
	return b, true
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// daily streams the daily dataset of trading day t (Tushare's columns and units).
func (g *generator) daily(r *rows, t int) func([]any) bool {
	closes, from := g.monthStart(t)
	i := 0
	return func(vals []any) bool {
		for ; i < len(g.stocks); i++ {
			if i%ctxCheckEvery == 0 && r.cancelled() {
				return false
			}
			st := &g.stocks[i]
			if t < int(st.list) || t >= int(st.delist) {
				continue
			}
			var prev int64
			if closes != nil {
				prev = int64(closes[i])
			}
			b, ok := g.bar(st, t, g.walk(st, prev, from, t))
			if !ok {
				continue
			}
			i++
			change := b.close - b.pre
			vals[0] = st.code
			vals[2] = float64(b.open) / 100
			vals[3] = float64(b.high) / 100
			vals[4] = float64(b.low) / 100
			vals[5] = float64(b.close) / 100
			vals[6] = float64(b.pre) / 100
			vals[7] = float64(change) / 100
			vals[8] = float64(divRound(change*1_000_000, b.pre)) / 10_000 // % to 4 places
			vals[9] = float64(b.vol)
			vals[10] = float64(b.amount) / 1000
			return true
		}
		return false
	}
}
