package baostocktest

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/source/baostock"
)

// query answers a paged query: code|msg|method|user|page|perPage|{"record":…}|tail, the
// records sliced to the page asked for. Without a market every page is empty.
func (s *Server) query(req baostock.Message) []byte {
	f := req.Fields()
	if len(f) < 4 {
		return errorFrame(baostock.CodeBadParameter, msgBadParameter)
	}
	page, err1 := strconv.Atoi(f[2])
	per, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || page < 1 || per < 1 {
		return errorFrame(baostock.CodeBadParameter, msgBadParameter)
	}
	args := slices.Clip(f[4:])
	arity := map[string]int{baostock.TypeTradeDates: 2, baostock.TypeAllStock: 1, baostock.TypeStockBasic: 2,
		baostock.TypeAdjustFactor: 3, baostock.TypeKData: 6}
	n, known := arity[req.Type]
	if !known {
		return errorFrame(baostock.CodeBadMessageType, msgBadType)
	}
	if len(args) != n {
		return errorFrame(baostock.CodeBadParameter, msgBadParameter)
	}
	rows, tail, err := s.allRecords(req.Type, args)
	if err != nil {
		var qe *queryError
		if errors.As(err, &qe) {
			return errorFrame(qe.code, qe.msg)
		}
		return errorFrame(baostock.CodeSystemError, "系统错误")
	}
	lo, hi := min((page-1)*per, len(rows)), min(page*per, len(rows))
	body := append([]string{"0", "success", f[0], f[1], f[2], f[3], recordJSON(rows[lo:hi])}, tail...)
	return frame(baostock.ReplyType(req.Type), body...)
}

// allRecords returns every record of a query and the reply's fields after the records. The
// last query's records are kept, so its pages are computed once.
func (s *Server) allRecords(typ string, args []string) (rows [][]string, tail []string, err error) {
	m := s.market
	key := typ + baostock.Sep + strings.Join(args, baostock.Sep)
	if m != nil {
		m.lastMu.Lock()
		if m.lastKey == key {
			rows, tail = m.lastRows, m.lastTail
		}
		m.lastMu.Unlock()
		if tail != nil {
			return rows, tail, nil
		}
	}
	switch typ {
	case baostock.TypeTradeDates:
		tail = append(args, tradeDatesFields)
		if m != nil {
			rows, err = m.tradeDates(args[0], args[1])
		}
	case baostock.TypeAllStock:
		tail = append(args, allStockFields)
		if m != nil {
			rows, err = m.allStock(args[0])
		}
	case baostock.TypeStockBasic:
		tail = append(args, stockBasicFields)
		if m != nil {
			rows, err = m.stockBasic(args[0])
		}
	case baostock.TypeAdjustFactor:
		tail = append(args, adjustFactorFields)
		if m != nil {
			rows, err = m.adjustFactor(args[0], args[1], args[2])
		}
	case baostock.TypeKData:
		tail = args // code|fields|start|end|frequency|adjustflag: the fields come second
		if m != nil {
			rows, err = m.kData(args)
		}
	}
	if err == nil && m != nil {
		m.lastMu.Lock()
		m.lastKey, m.lastRows, m.lastTail = key, rows, tail
		m.lastMu.Unlock()
	}
	return rows, tail, err
}

// kFields are the daily fields the fake knows.
var kFields = map[string]bool{"date": true, "code": true, "open": true, "high": true, "low": true,
	"close": true, "preclose": true, "volume": true, "amount": true, "adjustflag": true, "turn": true,
	"tradestatus": true, "pctChg": true, "peTTM": true, "pbMRQ": true, "psTTM": true, "pcfNcfTTM": true,
	"isST": true}

// kData answers query_history_k_data_plus for daily bars: one row per trading day the
// stock is listed, suspended days included (tradestatus 0, prices at the last close,
// no volume), volume in shares and amount in yuan. Adjust 3 is raw, 1 back-adjusted, 2
// forward-adjusted by the fake's factors.
func (m *marketData) kData(args []string) ([][]string, error) {
	code, fieldList, start, end, freq, adjust := args[0], args[1], args[2], args[3], args[4], args[5]
	if _, err := baostock.TSCode(code); err != nil {
		return nil, &queryError{baostock.CodeInvalidCode, msgInvalidCode}
	}
	fields := strings.Split(fieldList, ",")
	for _, f := range fields {
		if !kFields[f] {
			return nil, badParameter("field %q", f)
		}
	}
	if freq != "d" || adjust != "1" && adjust != "2" && adjust != "3" {
		return nil, badParameter("frequency %q, adjustflag %q", freq, adjust)
	}
	s, e, err := m.span(start, end)
	if err != nil {
		return nil, err
	}
	i, ok := m.byCode[code]
	if !ok || s.After(e) {
		return nil, nil
	}
	days, err := m.cal.TradingDays(s, e)
	if err != nil {
		return nil, err
	}
	var out [][]string
	last, haveLast := 0.0, false
	for _, d := range days {
		if !m.listed(i, d) {
			continue
		}
		bars, err := m.day(d)
		if err != nil {
			return nil, err
		}
		b := bars[i]
		if !b.ok {
			if !haveLast {
				last, haveLast = m.closeBefore(i, d)
			}
			if !haveLast {
				continue
			}
			b = kBar{open: last, high: last, low: last, close: last, pre: last, suspended: true}
		}
		last, haveLast = b.close, true
		out = append(out, m.kRecord(kQuery{i: i, code: code, adjust: adjust}, d, b, fields))
	}
	return out, nil
}

// closeBefore finds stock i's last close before d, looking back up to 60 trading days.
func (m *marketData) closeBefore(i int, d time.Time) (float64, bool) {
	for range 60 {
		p, err := m.cal.Previous(d)
		if err != nil || !m.listed(i, p) {
			return 0, false
		}
		bars, err := m.day(p)
		if err != nil {
			return 0, false
		}
		if bars[i].ok {
			return bars[i].close, true
		}
		d = p
	}
	return 0, false
}

// kQuery is a parsed k-data request.
type kQuery struct {
	i      int    // the stock's index in marketData.stocks
	code   string // Baostock's code
	adjust string // "3" raw, "1" back-adjusted, "2" forward-adjusted
}

// kRecord renders one bar in the order of fields; a suspended day has only its date,
// code, flags and prices. Where the demo has no value Baostock has (turn, PE, PB, PS,
// PCF), the fake derives a stable one from the code and the year: a float share count,
// and per-share earnings (sometimes a loss), book value and sales.
// TODO(lead): take turnover_rate, pe_ttm, pb and ps_ttm from the demo's daily_basic once
// demo has it.
func (m *marketData) kRecord(q kQuery, d time.Time, b kBar, fields []string) []string {
	f := 1.0
	if q.adjust != "3" {
		back, latest := m.backOn(q.i, d)
		if f = back; q.adjust == "2" {
			f = back / latest
		}
	}
	price := func(p float64) string {
		if q.adjust == "3" {
			return num(p, 4)
		}
		return num(p*f, 10)
	}
	v := map[string]string{"date": d.Format(market.DateLayout), "code": q.code, "adjustflag": q.adjust,
		"tradestatus": "0", "isST": "0", // the demo does not say which days a stock was ST
		"open": price(b.open), "high": price(b.high), "low": price(b.low), "close": price(b.close),
		"preclose": price(b.pre)}
	if !b.suspended {
		h := hash(q.code, d.Year())
		floatShares := float64(1+h%200) * 5e7
		eps := float64(int(h>>8%300)-50) / 100
		if eps == 0 {
			eps = 0.01
		}
		bvps, sps := 1+float64(h>>20%800)/100, 0.5+float64(h>>32%1000)/100
		v["tradestatus"] = "1"
		v["volume"] = strconv.FormatInt(int64(math.Round(b.vol*100)), 10) // lots → shares
		v["amount"] = num(math.Round(b.amount*1000), 4)                   // thousand yuan → yuan
		v["turn"] = num(b.vol*100/floatShares*100, 6)
		v["pctChg"] = num(b.pct, 6)
		v["peTTM"], v["pbMRQ"] = num(b.close/eps, 6), num(b.close/bvps, 6)
		v["psTTM"], v["pcfNcfTTM"] = num(b.close/sps, 6), num(b.close/(eps*1.3), 6)
	}
	rec := make([]string, len(fields))
	for k, name := range fields {
		rec[k] = v[name]
	}
	return rec
}
