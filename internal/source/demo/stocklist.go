package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// StockBasic returns Tushare's stock_basic for every stock the market ever lists, in
// code order and market.StockBasic's column order, as of the calendar's last day: listed
// stocks are L; delisted ones D with their delisting date, except about one in eight
// which stay P (listing suspended: no rows since, and no delisting date). Areas,
// industries, full and English names and controllers are synthetic like the rest.
func (s *Source) StockBasic(ctx context.Context) (market.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	spell := pinyinTable()
	out := make([][]any, 0, len(s.gen.stocks))
	for i := range s.gen.stocks {
		out = append(out, s.gen.stockBasic(&s.gen.stocks[i], spell))
	}
	return &tableRows{rows: out, i: -1}, nil
}

// stockBasic is st's stock_basic row.
func (g *generator) stockBasic(st *stock, spell map[rune]string) []any {
	info := st.info
	h := mix(st.key ^ 0x57bc)
	brand, trade := splitName(info.Name)
	row := make([]any, 0, 17)
	row = append(row, info.Code, info.Code[:6], info.Name, areas[h%uint64(len(areas))],
		tradeInfo(trade).industry, fullName(brand, trade), englishName(brand, trade, spell),
		initials(info.Name, spell), boardMarket(info.Board), exchange(info.Code), "CNY")
	status, delist := "L", any(nil)
	if !info.DelistDate.IsZero() {
		status, delist = "D", info.DelistDate
		if h>>8%8 == 0 {
			status, delist = "P", nil
		}
	}
	row = append(row, status, info.ListDate, delist, connect(info.Code, status, h))
	actName, actType := controller(h, areas[h%uint64(len(areas))])
	if status != "L" {
		actName, actType = nil, nil // Tushare has no controller for most former stocks
	}
	return append(row, actName, actType)
}

// areas are the regions companies come from; repeats weigh the busiest ones.
var areas = [...]string{"深圳", "北京", "上海", "浙江", "浙江", "江苏", "江苏", "广东", "广东", "山东",
	"福建", "四川", "湖北", "湖南", "安徽", "河南", "河北", "辽宁", "重庆", "天津", "陕西", "江西",
	"吉林", "黑龙江", "云南", "广西", "山西", "新疆", "甘肃", "贵州", "内蒙", "海南"}

// splitName takes a short name apart: its brand (two characters) and its trade word,
// without the ST prefix.
func splitName(name string) (brand, trade string) {
	name = strings.TrimPrefix(strings.TrimPrefix(name, "*"), "ST")
	r := []rune(name)
	if len(r) < 2 {
		return name, ""
	}
	return string(r[:2]), string(r[2:])
}

// trade is what a trade word of the short names (nameTrade) stands for.
type trade struct{ word, english, industry string }

// trades describes every word of nameTrade. It is a constant table.
var trades = [...]trade{
	{"科技", "Technology", "软件服务"}, {"股份", "", "综合类"}, {"电子", "Electronics", "元器件"},
	{"药业", "Pharmaceutical", "化学制药"}, {"新材", "New Materials", "矿物制品"},
	{"能源", "Energy", "新型电力"}, {"智能", "Intelligent", "软件服务"}, {"电气", "Electric", "电气设备"},
	{"化工", "Chemical", "化工原料"}, {"精工", "Precision", "专用机械"}, {"环保", "Environmental", "环境保护"},
	{"传媒", "Media", "影视音像"}, {"食品", "Food", "食品"}, {"物流", "Logistics", "仓储物流"},
	{"控股", "Holdings", "综合类"}, {"医疗", "Medical", "医疗保健"}, {"生物", "Biotech", "生物制药"},
	{"汽车", "Automotive", "汽车配件"}, {"软件", "Software", "软件服务"}, {"信息", "Information", "IT设备"},
	{"机械", "Machinery", "工程机械"}, {"材料", "Materials", "矿物制品"}, {"实业", "Industrial", "综合类"},
	{"集团", "Group", "综合类"}, {"重工", "Heavy Industry", "工程机械"}, {"光电", "Optoelectronics", "元器件"},
	{"通信", "Communications", "通信设备"}, {"农业", "Agriculture", "农业综合"}, {"矿业", "Mining", "小金属"},
	{"建设", "Construction", "建筑工程"}, {"置业", "Real Estate", "全国地产"}, {"制药", "Pharmaceutical", "化学制药"},
	{"电力", "Power", "火力发电"}, {"装备", "Equipment", "专用机械"}, {"半导体", "Semiconductor", "半导体"},
	{"微电", "Microelectronics", "半导体"}, {"数据", "Data", "软件服务"}, {"纺织", "Textile", "纺织"},
	{"酒业", "Liquor", "白酒"}, {"证券", "Securities", "证券"},
}

// tradeInfo describes the trade word w.
func tradeInfo(w string) trade {
	for _, t := range trades {
		if t.word == w {
			return t
		}
	}
	return trade{word: w, industry: "综合类"}
}

func fullName(brand, trade string) string {
	if trade == "股份" {
		return brand + "股份有限公司"
	}
	return brand + trade + "股份有限公司"
}

func englishName(brand, trade string, spell map[rune]string) string {
	var b strings.Builder
	for i, r := range []rune(brand) {
		p := spell[r]
		if i == 0 && p != "" {
			p = strings.ToUpper(p[:1]) + p[1:]
		}
		b.WriteString(p)
	}
	if e := tradeInfo(trade).english; e != "" {
		b.WriteString(" " + e)
	}
	return b.String() + " Co., Ltd."
}

// initials is Tushare's cnspell: the pinyin initials of the short name, in lower case,
// with an ST prefix as "st".
func initials(name string, spell map[rune]string) string {
	var b strings.Builder
	rest := strings.TrimPrefix(name, "*")
	if strings.HasPrefix(rest, "ST") {
		b.WriteString("st")
		rest = rest[2:]
	}
	brand, trade := splitName(rest)
	for _, r := range brand {
		if p := spell[r]; p != "" {
			b.WriteByte(p[0])
		}
	}
	for _, r := range trade {
		if p := spell[r]; p != "" {
			b.WriteByte(p[0])
		}
	}
	return b.String()
}

func boardMarket(b Board) string {
	switch b {
	case BoardChiNext:
		return "创业板"
	case BoardSTAR:
		return "科创板"
	case BoardBSE:
		return "北交所"
	}
	return "主板"
}

func exchange(code string) string {
	switch code[len(code)-2:] {
	case "SH":
		return "SSE"
	case "SZ":
		return "SZSE"
	}
	return "BSE"
}

// connect is stock_basic's is_hs: about two listed stocks in five are in the Stock
// Connect (H through Shanghai, S through Shenzhen); Beijing's and former stocks are not.
func connect(code, status string, h uint64) string {
	if status != "L" || h>>16%5 >= 2 {
		return "N"
	}
	switch exchange(code) {
	case "SSE":
		return "H"
	case "SZSE":
		return "S"
	}
	return "N"
}

// controller draws a company's actual controller and its kind.
func controller(h uint64, area string) (name, kind any) {
	surnames := []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
	given := []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂")
	switch u := h >> 24 % 100; {
	case u < 55:
		return string(surnames[h>>32%uint64(len(surnames))]) + string(given[h>>40%uint64(len(given))]) +
			string(given[h>>48%uint64(len(given))]), "个人"
	case u < 80:
		return area + "国有资产监督管理委员会", "地方国资委"
	case u < 90:
		return "国务院国有资产监督管理委员会", "中央国企"
	}
	return "无实际控制人", "无"
}

// pinyinTable maps every character of the synthetic short names to its pinyin.
func pinyinTable() map[rune]string {
	const table = "万wan 上shang 东dong 中zhong 丰feng 云yun 京jing 信xin 元yuan 光guang 兴xing 凯kai " +
		"创chuang 利li 力li 北bei 华hua 南nan 博bo 发fa 和he 嘉jia 国guo 大da 天tian 威wei 宇yu " +
		"安an 宏hong 富fu 峰feng 川chuan 康kang 建jian 德de 思si 恒heng 成cheng 新xin 昌chang " +
		"明ming 星xing 晨chen 普pu 晶jing 桂gui 正zheng 永yong 汇hui 江jiang 沪hu 泰tai 津jin " +
		"浙zhe 海hai 润run 深shen 湘xiang 源yuan 瑞rui 电dian 皖wan 盛sheng 科ke 粤yue 维wei " +
		"美mei 联lian 能neng 航hang 苏su 西xi 诺nuo 赣gan 辉hui 达da 远yuan 迪di 通tong 金jin " +
		"鑫xin 锐rui 长chang 闽min 隆long 鲁lu 鸿hong 黔qian 龙long " +
		"技ji 股gu 份fen 子zi 药yao 业ye 材cai 智zhi 气qi 化hua 工gong 精jing 环huan 保bao " +
		"传chuan 媒mei 食shi 品pin 物wu 流liu 控kong 医yi 疗liao 生sheng 汽qi 车che 软ruan " +
		"件jian 息xi 机ji 械xie 料liao 实shi 集ji 团tuan 重zhong 农nong 矿kuang 设she 置zhi " +
		"制zhi 装zhuang 备bei 半ban 导dao 体ti 微wei 数shu 据ju 纺fang 织zhi 酒jiu 证zheng 券quan"
	m := make(map[rune]string, 160)
	for _, f := range strings.Fields(table) {
		r := []rune(f)
		m[r[0]] = string(r[1:])
	}
	return m
}

// TradeCalendar returns every date from start to end with whether the exchanges trade,
// like Tushare's trade_cal. Dates the embedded holiday data covers come from it; later
// dates follow a synthetic rule, not an exchange notice: weekdays, minus January 1 and
// the first three weekdays of October. Dates before the data are an error wrapping
// market.ErrOutsideCalendar.
func (s *Source) TradeCalendar(ctx context.Context, start, end time.Time) ([]market.CalendarDay, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start, end = dateOf(start), dateOf(end)
	if end.Before(start) {
		return nil, fmt.Errorf("demo source: trade calendar: %w: %s is before %s", market.ErrInvalidRange,
			end.Format(market.DateLayout), start.Format(market.DateLayout))
	}
	if err := s.cal.Check(start); err != nil && start.Before(s.cal.First()) {
		return nil, fmt.Errorf("demo source: trade calendar: %w", err)
	}
	var out []market.CalendarDay
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		open, err := s.cal.IsTradingDay(d)
		if err != nil {
			open = syntheticOpen(d)
		}
		out = append(out, market.CalendarDay{Date: d, Open: open})
	}
	return out, nil
}

// syntheticOpen is the demo's rule for dates past the holiday data: weekdays, minus
// January 1 and the first three weekdays of October.
func syntheticOpen(d time.Time) bool {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	if d.Month() == time.January && d.Day() == 1 {
		return false
	}
	if d.Month() == time.October {
		weekdays := 0
		for x := time.Date(d.Year(), time.October, 1, 0, 0, 0, 0, time.UTC); !x.After(d); x = x.AddDate(0, 0, 1) {
			if wd := x.Weekday(); wd != time.Saturday && wd != time.Sunday {
				weekdays++
			}
		}
		return weekdays > 3
	}
	return true
}

// dateOf is d's calendar date at midnight UTC, whatever its zone.
func dateOf(d time.Time) time.Time {
	y, m, day := d.Date()
	return time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
}

// tableRows serves rows held in memory; Len knows their number.
type tableRows struct {
	rows [][]any
	i    int
}

func (t *tableRows) Next() bool             { t.i++; return t.i < len(t.rows) }
func (t *tableRows) Values() ([]any, error) { return t.rows[t.i], nil }
func (t *tableRows) Err() error             { return nil }

// Len is the number of rows.
func (t *tableRows) Len() int { return len(t.rows) }
