package baostocktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/baostock"
	"github.com/marketsync/marketsync/internal/source/demo"
)

// Field lists of the replies, spelled as the real server spells them.
const (
	tradeDatesFields   = "calendar_date, is_trading_day"
	allStockFields     = "code,tradeStatus,code_name"
	stockBasicFields   = "code, code_name, ipoDate, outDate, type, status"
	adjustFactorFields = "code,dividOperateDate,foreAdjustFactor,backAdjustFactor,adjustFactor"
)

// Messages of the errors the fake answers. Only the blacklist's text is known from the
// real server (upstreams/README.md); these are the fake's own wording.
const (
	msgBadParameter = "参数错误"
	msgInvalidCode  = "证券代码错误"
	msgBadType      = "错误的消息类型"
)

// index is a security of the fake universe that is not a stock. Baostock lists about
// 540 of them; a few are enough for the A-share filter to have something to filter.
type index struct{ code, name, list string }

var indices = []index{
	{"sh.000001", "上证综合指数", "1991-07-15"},
	{"sh.000016", "上证50指数", "2004-01-02"},
	{"sh.000300", "沪深300指数", "2005-04-08"},
	{"sh.000846", "中证财通中国可持续发展100(ECPI ESG)指数", "2012-09-10"},
	{"sz.399001", "深证成份指数", "1995-01-23"},
	{"sz.399006", "创业板指数", "2010-06-01"},
}

// kBar is one stock's daily bar in the demo's (Tushare's) units.
type kBar struct {
	open, high, low, close, pre, pct, vol, amount float64
	ok                                            bool // false: no demo row (not listed or suspended)
	suspended                                     bool // a suspended day's row, at the last close
}

// event is an adjustment event of the fake: the back factor from day on.
type event struct {
	day  time.Time
	back float64
}

// maxCachedDays bounds the day cache (about 350 KB a day): fetching stock after stock
// over a range reads the same days again, so ranges up to this many trading days are
// computed once.
const maxCachedDays = 400

// marketData serves the demo market through Baostock's queries. Baostock has no Beijing
// stocks, so neither does the fake.
type marketData struct {
	src    *demo.Source
	cal    *calendar.Calendar
	daily  market.Dataset
	stocks []demo.Stock   // every demo stock, code order (Fetch's order)
	byCode map[string]int // Baostock code → index in stocks (Beijing left out)
	mu     sync.Mutex     // guards days and events
	days   map[time.Time][]kBar
	events map[int][]event

	lastMu   sync.Mutex // guards the last query's records, for its next pages
	lastKey  string
	lastRows [][]string
	lastTail []string
}

func newMarketData(src *demo.Source, cal *calendar.Calendar) *marketData {
	daily, err := market.LookupDataset("daily")
	if err != nil {
		panic(err)
	}
	m := &marketData{src: src, cal: cal, daily: daily, stocks: src.Stocks(),
		byCode: make(map[string]int), days: make(map[time.Time][]kBar), events: make(map[int][]event)}
	for i, st := range m.stocks {
		if code, err := baostock.BaostockCode(st.Code); err == nil && !strings.HasPrefix(code, "bj.") {
			m.byCode[code] = i
		}
	}
	return m
}

// day returns every stock's bar on trading day d, computed once.
func (m *marketData) day(d time.Time) ([]kBar, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if bars, ok := m.days[d]; ok {
		return bars, nil
	}
	rows, err := m.src.Fetch(context.Background(), m.daily, d)
	if err != nil {
		return nil, err
	}
	bars := make([]kBar, len(m.stocks))
	i := 0
	for rows.Next() {
		v, _ := rows.Values() // ts_code, trade_date, open, high, low, close, pre_close, change, pct_chg, vol, amount
		for i < len(m.stocks) && m.stocks[i].Code != v[0].(string) {
			i++
		}
		if i == len(m.stocks) {
			return nil, fmt.Errorf("baostocktest: demo row for unknown stock %v", v[0])
		}
		f := func(k int) float64 { return v[k].(float64) }
		bars[i] = kBar{open: f(2), high: f(3), low: f(4), close: f(5), pre: f(6), pct: f(8), vol: f(9), amount: f(10), ok: true}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(m.days) >= maxCachedDays {
		clear(m.days)
	}
	m.days[d] = bars
	return bars, nil
}

// listed reports whether stock i is listed on d (its delisting day has no row).
func (m *marketData) listed(i int, d time.Time) bool {
	st := m.stocks[i]
	return !d.Before(st.ListDate) && (st.DelistDate.IsZero() || d.Before(st.DelistDate))
}

// hash is a stable 64-bit hash of a code and a number (splitmix64 over FNV-1a).
func hash(code string, n int) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(code); i++ {
		h = (h ^ uint64(code[i])) * 1099511628211
	}
	h ^= uint64(n) * 0x9e3779b97f4a7c15
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// events returns stock i's adjustment events over the calendar, computed once: in about
// three years out of four after listing, a payout in June or July raises the back factor
// by 0.5% to 4.4%. TODO(lead): serve the demo's own adj_factor once demo has it.
func (m *marketData) eventsOf(i int) []event {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ev, ok := m.events[i]; ok {
		return ev
	}
	st := m.stocks[i]
	var ev []event
	back := 1.0
	for y := st.ListDate.Year() + 1; y <= m.cal.Last().Year(); y++ {
		h := hash(st.Code, y)
		if h%4 == 0 {
			continue
		}
		d, err := m.cal.LastTradingDay(time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(h>>8%50)))
		if err != nil || !m.listed(i, d) {
			continue
		}
		back = math.Round(back*(1+float64(5+h>>16%40)/1000)*1e6) / 1e6
		ev = append(ev, event{day: d, back: back})
	}
	m.events[i] = ev
	return ev
}

// backOn is stock i's back factor on d, and the latest one.
func (m *marketData) backOn(i int, d time.Time) (back, latest float64) {
	back, latest = 1, 1
	for _, e := range m.eventsOf(i) {
		if !e.day.After(d) {
			back = e.back
		}
		latest = e.back
	}
	return back, latest
}

// recordJSON encodes rows as the reply's {"record":[[…]]}, without HTML escaping.
func recordJSON(rows [][]string) string {
	if rows == nil {
		rows = [][]string{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Record [][]string `json:"record"`
	}{rows}); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// queryError is an error reply to a query.
type queryError struct{ code, msg string }

func (e *queryError) Error() string { return e.code + " " + e.msg }

func badParameter(format string, a ...any) error {
	return &queryError{baostock.CodeBadParameter, msgBadParameter + ": " + fmt.Sprintf(format, a...)}
}

// span reads a request's start and end dates, clamped to the calendar ("" = its ends).
func (m *marketData) span(start, end string) (time.Time, time.Time, error) {
	s, e := m.cal.First(), m.cal.Last()
	var err error
	if start != "" {
		if s, err = market.ParseDate(start); err != nil {
			return s, e, badParameter("start %q", start)
		}
	}
	if end != "" {
		if e, err = market.ParseDate(end); err != nil {
			return s, e, badParameter("end %q", end)
		}
	}
	if s.Before(m.cal.First()) {
		s = m.cal.First()
	}
	if e.After(m.cal.Last()) {
		e = m.cal.Last()
	}
	return s, e, nil
}

func (m *marketData) tradeDates(start, end string) ([][]string, error) {
	s, e, err := m.span(start, end)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for d := s; !d.After(e); d = d.AddDate(0, 0, 1) {
		open, _ := m.cal.IsTradingDay(d)
		out = append(out, []string{d.Format(market.DateLayout), map[bool]string{true: "1", false: "0"}[open]})
	}
	return out, nil
}

func (m *marketData) allStock(day string) ([][]string, error) {
	d, err := market.ParseDate(day)
	if err != nil {
		return nil, badParameter("day %q", day)
	}
	if open, err := m.cal.IsTradingDay(d); err != nil || !open {
		return nil, nil
	}
	bars, err := m.day(d)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, ix := range indices {
		if ix.list <= day {
			out = append(out, []string{ix.code, "1", ix.name})
		}
	}
	for code, i := range m.byCode {
		if m.listed(i, d) {
			out = append(out, []string{code, map[bool]string{true: "1", false: "0"}[bars[i].ok], m.stocks[i].Name})
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return out, nil
}

func (m *marketData) stockBasic(code string) ([][]string, error) {
	if code != "" {
		if _, err := baostock.TSCode(code); err != nil {
			return nil, &queryError{baostock.CodeInvalidCode, msgInvalidCode}
		}
	}
	var out [][]string
	for _, ix := range indices {
		if code == "" || code == ix.code {
			out = append(out, []string{ix.code, ix.name, ix.list, "", "2", "1"})
		}
	}
	for c, i := range m.byCode {
		if code != "" && code != c {
			continue
		}
		st, outDate, status := m.stocks[i], "", "1"
		if !st.DelistDate.IsZero() {
			outDate, status = st.DelistDate.Format(market.DateLayout), "0"
		}
		out = append(out, []string{c, st.Name, st.ListDate.Format(market.DateLayout), outDate, "1", status})
	}
	slices.SortFunc(out, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return out, nil
}

func (m *marketData) adjustFactor(code, start, end string) ([][]string, error) {
	if _, err := baostock.TSCode(code); err != nil {
		return nil, &queryError{baostock.CodeInvalidCode, msgInvalidCode}
	}
	s, e, err := m.span(start, end)
	if err != nil {
		return nil, err
	}
	i, ok := m.byCode[code]
	if !ok {
		return nil, nil
	}
	ev := m.eventsOf(i)
	var out [][]string
	for _, x := range ev {
		if x.day.Before(s) || x.day.After(e) {
			continue
		}
		latest := ev[len(ev)-1].back
		out = append(out, []string{code, x.day.Format(market.DateLayout), num(x.back/latest, 6), num(x.back, 6), num(x.back, 6)})
	}
	return out, nil
}

// num formats f with prec decimals.
func num(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }
