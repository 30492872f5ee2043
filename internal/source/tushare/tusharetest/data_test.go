package tusharetest

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAppendPageIsEncodingJSON: the hand-written answer is byte for byte what
// encoding/json writes for it.
func TestAppendPageIsEncodingJSON(t *testing.T) {
	t.Parallel()
	type dataBody struct {
		Fields  []string `json:"fields"`
		Items   [][]any  `json:"items"`
		HasMore *bool    `json:"has_more,omitempty"`
	}
	type okBody struct {
		RequestID string   `json:"request_id"`
		Code      int      `json:"code"`
		Msg       string   `json:"msg"`
		Data      dataBody `json:"data"`
	}
	rows := [][]any{
		{"600519.SH", "20250102", 1488.5, nil, 0.0, -3.25e-7, 1e22, int64(42), 7, "贵州茅台", `a"b\c<d>&`, math.NaN()},
		{"000001.SZ", "20250102", 12.0, 1.0, 123456789.125, 5e-324, -0.0, int64(-1), 0, "", "\x01", math.Inf(1)},
	}
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -1}
	fields := []string{"ts_code", "trade_date", "close", "open", "vol", "x", "y", "n", "m", "name", "odd", "update_flag"}
	more := true
	for _, m := range []*bool{&more, nil} {
		items := make([][]any, len(rows))
		for k, r := range rows {
			items[k] = append(append([]any{}, r[:11]...), "0")
		}
		want, err := json.Marshal(okBody{RequestID: "r-1", Data: dataBody{Fields: fields, Items: items, HasMore: m}})
		require.NoError(t, err)
		got := append([]byte(`{"request_id":"r-1"`), appendPage(nil, fields, rows, idx, m)...)
		require.Equal(t, string(want), string(got))
	}
	require.Equal(t, "null", string(appendValue(nil, math.NaN())), "no NaN in JSON")
}
