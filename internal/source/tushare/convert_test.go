package tushare

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

func TestConvert(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		typ  market.ColumnType
		want any
	}{
		{nil, market.Double, nil},
		{json.Number("12.34"), market.Double, 12.34},
		{json.Number("-1e3"), market.Double, -1000.0},
		{"7.5", market.Double, 7.5},
		{"", market.Double, nil},
		{nil, market.Date, nil},
		{"20240105", market.Date, time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)},
		{json.Number("20240105"), market.Date, time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)},
		{"", market.Date, nil},
		{"600519.SH", market.Text, "600519.SH"},
		{json.Number("1"), market.Text, "1"},
		{true, market.Text, "true"},
		{nil, market.Text, nil},
	} {
		got, err := convert(tc.in, tc.typ)
		require.NoError(t, err, "%v as %s", tc.in, tc.typ)
		require.Equal(t, tc.want, got, "%v as %s", tc.in, tc.typ)
	}
	for _, tc := range []struct {
		in  any
		typ market.ColumnType
	}{
		{"abc", market.Double}, {true, market.Double}, {"2024-01-05", market.Date}, {12.5, market.Date},
		{[]any{"x"}, market.Text},
	} {
		_, err := convert(tc.in, tc.typ)
		require.Error(t, err, "%v as %s", tc.in, tc.typ)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	const link = "，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"
	for _, tc := range []struct {
		code int
		msg  string
		want outcome
	}{
		{40101, "您的token不对，请确认。", tokenRefused},
		{40203, "抱歉，您每分钟最多访问该接口500次" + link, waitMinute},
		{40203, "抱歉，您每小时最多访问该接口1次" + link, quotaExhausted},
		{40203, "抱歉，您每天最多访问该接口100000次" + link, quotaExhausted},
		{40203, "抱歉，您没有访问该接口的权限" + link, datasetRefused},
		{40203, "抱歉，您的积分不足" + link, datasetRefused},
		{2002, "权限不足", datasetRefused},
		{-1, "您的IP数量超限，最大数量为2个！", tokenRefused},
		{-2001, "参数错误", transient},
		{50001, "服务繁忙", transient},
	} {
		require.Equal(t, tc.want, classify(tc.code, tc.msg), "%d %s", tc.code, tc.msg)
	}
}
