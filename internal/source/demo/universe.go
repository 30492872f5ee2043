package demo

import (
	"slices"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// Board is the market segment a stock trades on; it sets the daily price limit.
type Board string

// Boards of the A-share market.
const (
	// BoardMain is the Shanghai (600/601/603/605) and Shenzhen (000/001/002/003) main
	// boards: ±10%, ±5% while the stock is flagged ST.
	BoardMain Board = "Main"
	// BoardChiNext is Shenzhen's growth board (300/301): ±20% since the reform of
	// 2020-08-24, ±10% (±5% ST) before.
	BoardChiNext Board = "ChiNext"
	// BoardSTAR is Shanghai's science and technology board (688): ±20%.
	BoardSTAR Board = "STAR"
	// BoardBSE is the Beijing Stock Exchange (920): ±30%.
	BoardBSE Board = "BSE"
)

// Stock is one listed company of the demo market, for display.
type Stock struct {
	// Code is the Tushare ts_code, such as 600519.SH, 300750.SZ or 920001.BJ.
	Code string
	// Name is the short name as of the stock's last day in the calendar, prefixed "ST"
	// or "*ST" when it was flagged then.
	Name string
	// Board sets the stock's daily price limit.
	Board Board
	// ListDate is the first trading day.
	ListDate time.Time
	// DelistDate is the first trading day without the stock (it has rows before, none
	// from then on); zero while it is listed.
	DelistDate time.Time
}

// boardSpec describes how one code range of a board is populated.
type boardSpec struct {
	prefix, suffix string
	board          Board
	first, count   int    // first code number after the prefix, and how many codes
	from, to       string // listing dates are spread over this range
	opening        int    // how many list on `from`, the board's first day
}

// boards is the shape of the market: code ranges, sizes and listing periods, roughly as
// the real exchanges grew. It is a constant table.
var boards = [...]boardSpec{
	{"000", ".SZ", BoardMain, 1, 560, "1991-04-03", "2010-12-31", 1},
	{"001", ".SZ", BoardMain, 201, 70, "2021-02-01", "2026-06-30", 0},
	{"002", ".SZ", BoardMain, 1, 990, "2004-06-25", "2021-04-30", 8},
	{"003", ".SZ", BoardMain, 1, 45, "2020-10-12", "2021-12-31", 0},
	{"300", ".SZ", BoardChiNext, 1, 990, "2009-10-30", "2020-08-21", 28},
	{"301", ".SZ", BoardChiNext, 1, 500, "2020-08-24", "2026-06-30", 18},
	{"600", ".SH", BoardMain, 0, 900, "1991-01-02", "2017-12-29", 0},
	{"601", ".SH", BoardMain, 0, 400, "2001-01-02", "2024-06-28", 0},
	{"603", ".SH", BoardMain, 0, 900, "2011-03-01", "2024-12-31", 0},
	{"605", ".SH", BoardMain, 0, 120, "2020-01-02", "2026-06-30", 0},
	{"688", ".SH", BoardSTAR, 0, 600, "2019-07-22", "2026-06-30", 25},
	{"920", ".BJ", BoardBSE, 1, 290, "2021-11-15", "2026-06-30", 81},
}

// Syllables of the synthetic short names: a two-character brand and an industry.
var (
	nameHead  = []rune("华中国东金新长海天恒宏建晨瑞鑫嘉信德安永盛联泰汇博光润隆兴凯和远通力普星明正万上南北西江浙川粤湘鲁苏闽皖赣桂云黔京津沪深大")
	nameTail  = []rune("达通源泰华信创科丰盛安宇兴航能电光明发隆德瑞利成海峰威龙锐维迪思诺恒晶宏联昌富美康辉鸿元")
	nameTrade = []string{"科技", "股份", "电子", "药业", "新材", "能源", "智能", "电气", "化工", "精工",
		"环保", "传媒", "食品", "物流", "控股", "医疗", "生物", "汽车", "软件", "信息", "机械", "材料",
		"实业", "集团", "重工", "光电", "通信", "农业", "矿业", "建设", "置业", "制药", "电力", "装备",
		"半导体", "微电", "数据", "纺织", "酒业", "证券"}
)

// stock is a listed company and the parameters of its price walk.
type stock struct {
	walkParams
	info   Stock
	code   any    // info.Code boxed once, for Values
	list   int32  // trading-day index of the listing day
	delist int32  // trading-day index from which it has no rows (len(days) if listed)
	issue  int64  // issue price in cents: pre_close of the listing day
	vol    int64  // typical daily volume in lots
	starST uint64 // bit y-firstYear set: flagged *ST that year
}

// walkParams is what one step of a stock's price walk needs. The walk copies it to the
// stack, so the hot loop reads few shared words.
type walkParams struct {
	key   uint64      // hash key of the stock
	sigma int64       // daily volatility in basis points
	beta  int64       // exposure to the market's daily move, in percent
	st    uint64      // bit y-firstYear set: flagged ST (or *ST) during that calendar year
	kind  uint8       // limit family: kindMain, kindChiNext, kindSTAR, kindBSE
	years []yearParam // per calendar year from firstYear
}

// yearParam is what a stock's walk reverts to during one calendar year.
type yearParam struct {
	base int64 // price in cents
	pull int64 // 50×2³²/base: the daily pull in basis points per relative gap, ×2³²
}

const (
	kindMain uint8 = iota
	kindChiNext
	kindSTAR
	kindBSE
)

func boardKind(b Board) uint8 {
	switch b {
	case BoardChiNext:
		return kindChiNext
	case BoardSTAR:
		return kindSTAR
	case BoardBSE:
		return kindBSE
	}
	return kindMain
}

// listStocks builds the market's companies from the seed, in code order.
func (g *generator) listStocks(seed uint64) []stock {
	var out []stock
	names := make(map[string]bool) // membership only: iteration order never matters
	for b, spec := range boards {
		bkey := mix(seed ^ 0xb0a2d ^ uint64(b+1)*0x9e3779b97f4a7c15)
		from, to := mustDay(spec.from), mustDay(spec.to)
		// Listing dates: spread at random over the period, the earliest codes first.
		dates := make([]int32, spec.count)
		for j := range dates {
			if j < spec.opening {
				dates[j] = from
				continue
			}
			lo := from // after an opening day, the others list later
			if spec.opening > 0 {
				lo++
			}
			dates[j] = lo + int32(mix(bkey^uint64(j)*0xc2b2ae3d27d4eb4f)%uint64(to-lo+1))
		}
		slices.Sort(dates)
		capacity := 1000 - spec.first
		for j := range spec.count {
			// Codes: j's slot of the range, at a random place inside the slot.
			lo, hi := j*capacity/spec.count, (j+1)*capacity/spec.count
			h := mix(bkey ^ 0x5107 ^ uint64(j)*0x9e3779b97f4a7c15)
			num := spec.first + lo + int(h%uint64(hi-lo))
			list, ok := g.dayAtOrAfter(dates[j])
			if !ok {
				continue // lists after the calendar's data
			}
			st := stock{list: list, delist: int32(len(g.days))}
			st.key = mix(seed ^ mix(uint64(b)<<32|uint64(num)))
			st.kind = boardKind(spec.board)
			st.info = Stock{
				Code:     spec.prefix + pad3(num) + spec.suffix,
				Board:    spec.board,
				ListDate: g.date(list),
			}
			g.shape(&st, names)
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b stock) int { return strings.Compare(a.info.Code, b.info.Code) })
	return out
}

// shape draws a stock's delisting, ST years, name and price parameters.
func (g *generator) shape(st *stock, names map[string]bool) {
	g.drawDelisting(st)
	lastYear := g.drawST(st)
	g.drawName(st, names, lastYear)
	g.drawPrices(st)
	st.code = st.info.Code
}

// drawDelisting delists about one in sixteen companies listed before 2019, mostly since
// 2018.
func (g *generator) drawDelisting(st *stock) {
	k := st.key
	listDN := g.days[st.list]
	if listDN >= g.dn2019 {
		return
	}
	u := mix(k^0xde1) % 1000
	var from, to int32
	switch {
	case u < 55:
		from, to = max(listDN+730, g.dn2018), g.dnLastDelist
	case u < 65:
		from, to = listDN+730, g.dn2018-1
	}
	if to > from {
		dn := from + int32(mix(k^0xde2)%uint64(to-from+1))
		if t, ok := g.dayAtOrAfter(dn); ok {
			st.delist = t
			st.info.DelistDate = g.date(t)
		}
	}
}

// drawST runs a little Markov chain of ST periods over calendar years, from the year
// after listing; a company on its way out is *ST in its last year(s). It returns the
// stock's last calendar year.
func (g *generator) drawST(st *stock) int {
	k := st.key
	lastDay := g.days[st.delist-1]
	listYear, lastYear := yearOf(g.days[st.list]), yearOf(lastDay)
	lastYearDay := time.Unix(int64(lastDay)*86400, 0).UTC().YearDay()
	state := 0 // 0 normal, 1 ST, 2 *ST
	for y := listYear + 1; y <= lastYear; y++ {
		u := mix(k^0x57^uint64(y)*0x9e3779b97f4a7c15) % 1000
		switch {
		case state == 0 && u < 12, state == 1 && u < 500, state == 2 && u >= 350 && u < 600:
			state = 1
		case state == 0 && u < 20, state == 1 && u < 600, state == 2 && u < 350:
			state = 2
		default:
			state = 0
		}
		if !st.info.DelistDate.IsZero() && (y == lastYear || y == lastYear-1 && lastYearDay < 120) {
			state = 2
		}
		if state > 0 {
			st.st |= 1 << (y - g.firstYear)
		}
		if state == 2 {
			st.starST |= 1 << (y - g.firstYear)
		}
	}
	return lastYear
}

// drawName gives the stock a unique two-character brand and an industry, prefixed with
// its ST state in its last year.
func (g *generator) drawName(st *stock, names map[string]bool, lastYear int) {
	for try := uint64(0); ; try++ {
		h := mix(st.key ^ 0x4a3e ^ try*0x9e3779b97f4a7c15)
		n := string(nameHead[h%uint64(len(nameHead))]) + string(nameTail[h>>16%uint64(len(nameTail))]) +
			nameTrade[h>>32%uint64(len(nameTrade))]
		if names[n] && try <= 50 {
			continue
		}
		names[n] = true
		switch {
		case st.starST>>(lastYear-g.firstYear)&1 == 1:
			n = "*ST" + n
		case st.st>>(lastYear-g.firstYear)&1 == 1:
			n = "ST" + n
		}
		st.info.Name = n
		return
	}
}

// drawPrices draws the price parameters. The base price is 3 yuan times 1.02^k: mostly 3
// to 60 yuan, a few up to about 200; each year it drifts between 0.6 and 1.6 times that.
func (g *generator) drawPrices(st *stock) {
	k := st.key
	h := mix(k ^ 0x9a1ce)
	steps := h % 150
	if h>>8%100 < 6 {
		steps = 150 + h>>16%60
	}
	base := int64(300)
	for range steps {
		base = base * 102 / 100
	}
	st.years = make([]yearParam, g.nYears)
	for y := range st.years {
		f := 60 + int64(mix(k^0xba5e^uint64(y)*0xc2b2ae3d27d4eb4f)%101)
		b := max(base*f/100, 100)
		st.years[y] = yearParam{base: b, pull: 50 << 32 / b}
	}
	st.issue = base * int64(45+mix(k^0x1550)%40) / 100 // issue at 45-85% of the base
	st.sigma = 120 + int64(h>>24%140)
	st.beta = 50 + int64(h>>32%100)
	st.vol = 5_000 * (2 + int64(h>>40%120))
}

func pad3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// mustDay is the day number of an ISO date from the constant tables above.
func mustDay(s string) int32 {
	d, err := market.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return dayNumber(d)
}

// dayNumber counts days since 1970-01-01 for a date at midnight UTC.
func dayNumber(d time.Time) int32 { return int32(d.Unix() / 86400) }

func yearOf(dn int32) int { return time.Unix(int64(dn)*86400, 0).UTC().Year() }
