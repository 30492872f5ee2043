package baostock

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

func date(s string) time.Time {
	d, err := market.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestCodes(t *testing.T) {
	t.Parallel()
	for bs, ts := range map[string]string{
		"sh.600000": "600000.SH", "sz.000001": "000001.SZ", "sz.300750": "300750.SZ",
		"sh.688981": "688981.SH", "bj.830799": "830799.BJ",
	} {
		got, err := TSCode(bs)
		require.NoError(t, err)
		require.Equal(t, ts, got)
		back, err := BaostockCode(ts)
		require.NoError(t, err)
		require.Equal(t, bs, back)
	}
	for _, bad := range []string{"", "600000", "sh600000", "sh.60000", "hk.600000", "SH.600000"} {
		_, err := TSCode(bad)
		require.ErrorIs(t, err, market.ErrInvalidInput, bad)
	}
	for _, bad := range []string{"", "600000", "600000.HK", "600000-SH", "60000A.SH"} {
		_, err := BaostockCode(bad)
		require.ErrorIs(t, err, market.ErrInvalidInput, bad)
	}
}

// DailyColumns is market's daily dataset, column for column.
func TestColumnsFollowMarket(t *testing.T) {
	t.Parallel()
	daily, err := market.LookupDataset("daily")
	require.NoError(t, err)
	require.Equal(t, daily.ColumnNames(), DailyColumns())
	require.Len(t, DailyBasicColumns(), dailyBasicWidth)
	require.Len(t, AdjFactorColumns(), 3)
}

func TestIsAShare(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		"sh.600000": true, "sh.601398": true, "sh.603000": true, "sh.605000": true,
		"sh.688981": true, "sh.689009": true, // STAR and its CDR
		"sz.000001": true, "sz.001979": true, "sz.002594": true, "sz.003816": true,
		"sz.300750": true, "sz.301000": true, "sz.302132": true,
		"bj.830799": true, "bj.430047": true, "bj.920001": true,
		"sh.000001": false, "sh.000300": false, "sz.399001": false, "sz.399006": false, // indices
		"bj.899050": false,                     // BSE 50 index
		"sh.900901": false, "sz.200002": false, // B shares
		"sh.510050": false, "sz.159915": false, "sh.113050": false, // ETFs, convertible bond
		"sh.60000": false, "600000.SH": false,
	} {
		require.Equal(t, want, IsAShare(code), code)
	}
}

// The captured universe keeps the space inside a name, which Python's whitespace strip
// would remove; the counts are those IsAShare documents.
func TestUniverseCaptureNamesAndFilter(t *testing.T) {
	t.Parallel()
	for _, c := range loadCaptures(t) {
		if c.name != "query_all_stock" {
			continue
		}
		m, err := ReadResponse(bufio.NewReader(bytes.NewReader(c.response)), 0)
		require.NoError(t, err)
		_, rows, err := parsePage(m.Fields(), fieldsAtAllStock)
		require.NoError(t, err)
		names := map[string]string{}
		shares, other := 0, 0
		for _, r := range rows {
			names[r[0]] = r[2]
			if IsAShare(r[0]) {
				shares++
			} else {
				other++
			}
		}
		require.Equal(t, "中证财通中国可持续发展100(ECPI ESG)指数", names["sh.000846"])
		require.Equal(t, "上证综合指数", names["sh.000001"])
		require.Equal(t, 5097, shares)
		require.Equal(t, 541, other)
	}
}

// kCapture is the captured k data of sh.600000, January 2024 (forward-adjusted: the
// capture asked adjustflag 2; the mapping is the same).
func kCapture(t *testing.T) *Table {
	t.Helper()
	for _, c := range loadCaptures(t) {
		if c.name != "query_history_k_data_plus" {
			continue
		}
		m, err := ReadResponse(bufio.NewReader(bytes.NewReader(c.response)), 0)
		require.NoError(t, err)
		fields, rows, err := parsePage(m.Fields(), fieldsAtKData)
		require.NoError(t, err)
		return &Table{Fields: fields, Rows: rows}
	}
	t.Fatal("no k-data capture")
	return nil
}

func TestDailyRowsFromTheCapture(t *testing.T) {
	t.Parallel()
	rows, err := DailyRows(kCapture(t))
	require.NoError(t, err)
	require.Len(t, rows, 22)
	// ["2024-01-02","sh.600000","6.2070789300","6.2258031500","6.1789926000","6.1789926000",
	//  "6.1977168200","22066700","146066303.7200","2","0.075200","1","-0.302100","0"]
	r := rows[0]
	require.Len(t, r, len(DailyColumns()))
	require.Equal(t, "600000.SH", r[0])
	require.Equal(t, date("2024-01-02"), r[1])
	require.Equal(t, []any{6.20707893, 6.22580315, 6.1789926, 6.1789926, 6.19771682}, r[2:7])
	require.Equal(t, -0.018724, r[7], "change = close − pre_close, to 6 places")
	require.Equal(t, -0.3021, r[8])
	require.Equal(t, 220667.0, r[9], "22,066,700 shares = 220,667 lots")
	require.InDelta(t, 146066.30372, r[10], 1e-9, "146,066,303.72 yuan in thousands")
	// 2024-01-22: close equals preclose.
	require.Equal(t, date("2024-01-22"), rows[14][1])
	require.Equal(t, 0.0, rows[14][7])

	_, err = DailyBasicRows(kCapture(t))
	require.ErrorContains(t, err, `no field "peTTM"`)
}

func TestDailyAndBasicRows(t *testing.T) {
	t.Parallel()
	tbl := &Table{
		Fields: []string{"date", "code", "open", "high", "low", "close", "preclose", "volume", "amount",
			"adjustflag", "turn", "tradestatus", "pctChg", "peTTM", "pbMRQ", "psTTM", "isST"},
		Rows: [][]string{
			{"2024-01-02", "sz.000001", "9.39", "9.42", "9.21", "9.21", "9.39", "115871170", "1075196588.2600",
				"3", "0.597100", "1", "-1.916900", "4.493216", "0.527018", "0.977958", "0"},
			{"2024-01-03", "sz.000001", "9.21", "9.21", "9.21", "9.21", "9.21", "", "", "3", "", "0", "", "", "", "", "0"},
			{"2024-01-04", "sh.600001", "3.10", "3.20", "3.00", "3.15", "3.10", "100", "315.0000",
				"3", "", "1", "", "-12.5", "0.8", "", "1"},
		},
	}
	daily, err := DailyRows(tbl)
	require.NoError(t, err)
	require.Len(t, daily, 2, "the suspended day has no row")
	require.Equal(t, []any{"000001.SZ", date("2024-01-02"), 9.39, 9.42, 9.21, 9.21, 9.39, -0.18, -1.9169,
		1158711.7, 1075196.5882600}, daily[0])
	require.Equal(t, []any{"600001.SH", date("2024-01-04"), 3.10, 3.20, 3.00, 3.15, 3.10, 0.05, nil, 1.0, 0.315}, daily[1])

	basic, err := DailyBasicRows(tbl)
	require.NoError(t, err)
	require.Len(t, basic, 2)
	require.Len(t, basic[0], len(DailyBasicColumns()))
	want := make([]any, len(DailyBasicColumns()))
	want[0], want[1], want[2], want[3] = "000001.SZ", date("2024-01-02"), 9.21, 0.5971
	want[7], want[8], want[10] = 4.493216, 0.527018, 0.977958
	require.Equal(t, want, basic[0])
	require.Nil(t, basic[1][3], "turn empty")
	require.Nil(t, basic[1][7], "a loss-maker's PE is empty, as in Tushare")
	require.Equal(t, 0.8, basic[1][8])

	tbl.Rows[0][7] = "lots"
	_, err = DailyRows(tbl)
	require.ErrorContains(t, err, `000001.SZ 2024-01-02: volume "lots" is not a number`)
}

func TestAdjFactorRows(t *testing.T) {
	t.Parallel()
	// The captured event: sh.600000 went ex-dividend on 2023-07-21.
	events := []AdjustEvent{{Code: "sh.600000", Date: date("2023-07-21"), Fore: 0.936211, Back: 11.949786, Adjust: 11.949786}}
	days := []time.Time{date("2023-07-24"), date("2023-07-20"), date("2023-07-21")}
	require.Equal(t, [][]any{
		{"600000.SH", date("2023-07-20"), 1.0},
		{"600000.SH", date("2023-07-21"), 11.949786},
		{"600000.SH", date("2023-07-24"), 11.949786},
	}, AdjFactorRows("600000.SH", events, days))

	// An earlier event carries its factor up to the next one.
	events = append(events, AdjustEvent{Date: date("2022-07-22"), Back: 11.254})
	require.Equal(t, [][]any{
		{"600000.SH", date("2023-07-20"), 11.254},
		{"600000.SH", date("2023-07-21"), 11.949786},
		{"600000.SH", date("2023-07-24"), 11.949786},
	}, AdjFactorRows("600000.SH", events, days))
	require.Empty(t, AdjFactorRows("600000.SH", events, nil))
}
