package demo

import (
	"slices"
	"time"
)

// Corporate actions and fundamentals: what adj_factor and daily_basic are made of. All of
// it is synthetic and drawn from the stock's key (so per seed and code), in integer
// arithmetic, converted to float64 by one division at the end so that every machine gets
// the same bits. The daily price walk does not drop on an ex-date (its output is pinned by
// tests); the factor steps up there all the same, as Tushare's does.

// action is one ex-rights date of a stock: from trading day t on, its cumulative factor
// and share counts are these.
type action struct {
	t      int32 // trading-day index of the ex-date
	factor int64 // cumulative adj_factor, in thousandths (1.000 at listing)
	shares shares
	cash   int64 // cash dividend per share paid on t, in hundredths of a cent (0: none)
}

// shares are a stock's share counts: total, tradable (float) and free float.
type shares struct{ total, float, free int64 }

// corporate holds every stock's actions, computed once per generator on first use.
type corporate struct {
	actions [][]action // [stock]: in date order
	shares  []shares   // before any action
}

// corporate returns the market's actions, computing them on first use (a few ms).
func (g *generator) corporate() *corporate {
	g.corpOnce.Do(func() {
		c := &corporate{actions: make([][]action, len(g.stocks)), shares: make([]shares, len(g.stocks))}
		for i := range g.stocks {
			c.shares[i] = g.shareBase(&g.stocks[i])
			c.actions[i] = g.actions(&g.stocks[i], c.shares[i])
		}
		g.corp = c
	})
	return g.corp
}

// shareBase draws st's share counts so that its usual volume turns over 0.3% to 6% of
// its float a day.
func (g *generator) shareBase(st *stock) shares {
	h := mix(st.key ^ 0x5a4e5)
	turnoverBP := 30 + int64(h%571)             // usual daily turnover, basis points of the float
	float := st.vol * 100 * 10_000 / turnoverBP // shares
	float = float / 100 * 100
	total := float * 100 / (50 + int64(h>>16%51)) // the float is 50% to 100% of the total
	free := float * (40 + int64(h>>32%56)) / 100  // the free float is 40% to 95% of the float
	return shares{total: total / 100 * 100, float: float, free: free / 100 * 100}
}

// actions draws st's ex-rights dates: in each year after its listing, a cash dividend
// (0.5% to 4% of the year's base price) when the last fiscal year made a profit, about
// every other year; now and then (one year in thirteen) bonus shares, 2, 3, 5 or 10 per 10.
func (g *generator) actions(st *stock, sh shares) []action {
	listYear := yearOf(g.days[st.list])
	lastYear := yearOf(g.days[st.delist-1])
	factor := int64(1000)
	var out []action
	for y := listYear + 1; y <= lastYear; y++ {
		yi := y - g.firstYear
		h := mix(st.key ^ 0xd1d ^ uint64(y)*0x9e3779b97f4a7c15)
		var bonus int64 // new shares per 10
		if h&0xff < 20 {
			bonus = [...]int64{2, 3, 5, 10}[h>>8&3]
		}
		var cash int64 // hundredths of a cent per share
		if g.earnings(st, yi-1).eps > 0 && h>>16%2 == 0 {
			cash = st.years[yi].base * 100 * (50 + int64(h>>24%351)) / 10_000
		}
		if cash == 0 && bonus == 0 {
			continue
		}
		// An ex-date between mid-May and the end of July.
		dn := int32(time.Date(y, 5, 15, 0, 0, 0, 0, time.UTC).Unix()/86400) + int32(h>>40%78)
		t, ok := g.dayAtOrAfter(dn)
		if !ok || t <= st.list || t >= st.delist {
			continue
		}
		// The factor grows by the ratio of the raw to the ex-rights reference price:
		// base / ((base - cash) / (1 + bonus/10)), on the year's base price.
		base := st.years[yi].base * 100
		factor = divRound(factor*base*(10+bonus), 10*(base-cash))
		sh = shares{sh.total * (10 + bonus) / 10, sh.float * (10 + bonus) / 10, sh.free * (10 + bonus) / 10}
		out = append(out, action{t: t, factor: factor, shares: sh, cash: cash})
	}
	return out
}

// at returns the last of acts on or before trading day t, or nil.
func at(acts []action, t int) *action {
	i, _ := slices.BinarySearchFunc(acts, int32(t), func(a action, t int32) int { return int(a.t - t) })
	if i < len(acts) && int(acts[i].t) == int(t) {
		return &acts[i]
	}
	if i == 0 {
		return nil
	}
	return &acts[i-1]
}

// earnings is a fiscal year's per-share results, in millionths of a cent.
type earnings struct{ eps, bps, sps int64 }

// earnings draws st's results for fiscal year yi (from firstYear): earnings at 8 to 80
// times the year's base price, losses about one year in ten (one in three while ST),
// book value at 0.8 to 8 times and sales at 0.5 to 10 times.
func (g *generator) earnings(st *stock, yi int) earnings {
	yi = min(max(yi, 0), len(st.years)-1)
	h := mix(st.key ^ 0xea27 ^ uint64(yi+1)*0xc2b2ae3d27d4eb4f)
	base := st.years[yi].base * 1_000_000
	pe := 800 + int64(h%7201) // hundredths
	e := earnings{eps: base * 100 / pe}
	lossPer1000 := uint64(100)
	if st.st>>yi&1 == 1 {
		lossPer1000 = 330
	}
	if h>>16%1000 < lossPer1000 {
		e.eps = -base * 100 / (2000 + int64(h>>26%18001))
	}
	e.bps = base * 100 / (80 + int64(h>>42%721))
	e.sps = base * 100 / (50 + int64(h>>52%951))
	return e
}

// fiscal returns, for a date of calendar year y (from firstYear) and month m, the last
// fiscal year reported (annual reports are out by April 30) and how many quarters of the
// next are reported (first quarter by April, half year by August, third by October).
func fiscal(y, m int) (fy, quarters int) {
	switch {
	case m <= 4:
		return y - 2, 3
	case m <= 8:
		return y - 1, 1
	case m <= 10:
		return y - 1, 2
	}
	return y - 1, 3
}

// ratio4 returns num/den rounded to 4 decimals, or nil when den is not positive (Tushare
// leaves a ratio on losses or negative book NULL).
func ratio4(num, den int64) any {
	if den <= 0 {
		return nil
	}
	return float64(divRound(num*10_000, den)) / 10_000
}

// basic fills vals[2:] with st's daily_basic on trading day t, given its bar b.
func (g *generator) basic(vals []any, i int, t int, b bar) {
	st := &g.stocks[i]
	c := g.corporate()
	sh := c.shares[i]
	var lastCash int64
	var lastCashT int32 = -1
	for _, a := range c.actions[i] {
		if int(a.t) > t {
			break
		}
		sh = a.shares
		if a.cash > 0 {
			lastCash, lastCashT = a.cash, a.t
		}
	}
	d := g.date(int32(t))
	fy, q := fiscal(d.Year()-g.firstYear, int(d.Month()))
	last, next := g.earnings(st, fy), g.earnings(st, fy+1)
	ttm := earnings{
		eps: (last.eps*int64(4-q) + next.eps*int64(q)) / 4,
		sps: (last.sps*int64(4-q) + next.sps*int64(q)) / 4,
	}
	px := b.close * 1_000_000 // millionths of a cent, like earnings
	vals[2] = float64(b.close) / 100
	vals[3] = ratio4(b.vol*100*100, sh.float) // lots × 100 shares / float, in %
	vals[4] = ratio4(b.vol*100*100, sh.free)
	vals[5] = nil // volume ratio: none on the listing day
	if t != int(st.list) {
		vals[5] = float64(divRound(b.vol*100, st.vol)) / 100
	}
	vals[6], vals[7] = ratio4(px, last.eps), ratio4(px, ttm.eps)
	vals[8] = ratio4(px, last.bps)
	vals[9], vals[10] = ratio4(px, last.sps), ratio4(px, ttm.sps)
	vals[11], vals[12] = nil, nil
	if lastCashT >= 0 && g.days[t]-g.days[lastCashT] < 730 {
		vals[11] = ratio4(lastCash, b.close) // hundredths of a cent / cents: % already
		if g.days[t]-g.days[lastCashT] < 365 {
			vals[12] = vals[11]
		}
	}
	vals[13] = float64(sh.total) / 10_000 // 万股
	vals[14] = float64(sh.float) / 10_000
	vals[15] = float64(sh.free) / 10_000
	vals[16] = float64(divRound(b.close*sh.total, 100)) / 10_000 // cents × shares / 10^6 = 万元
	vals[17] = float64(divRound(b.close*sh.float, 100)) / 10_000
}

// dailyBasic streams the daily_basic dataset of trading day t: one row per stock that
// trades, its close the daily close.
func (g *generator) dailyBasic(r *rows, t int) func([]any) bool {
	g.corporate()
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
			vals[0] = st.code
			g.basic(vals, i, t, b)
			i++
			return true
		}
		return false
	}
}

// adjFactor streams the adj_factor dataset of trading day t: one row per listed stock,
// suspended or not.
func (g *generator) adjFactor(r *rows, t int) func([]any) bool {
	c := g.corporate()
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
			f := int64(1000)
			if a := at(c.actions[i], t); a != nil {
				f = a.factor
			}
			vals[0] = st.code
			vals[2] = float64(f) / 1000
			i++
			return true
		}
		return false
	}
}
