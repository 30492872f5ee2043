package tushare

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// slowPage decodes body the thorough way only.
func slowPage(t *testing.T, body string) (*page, error) {
	t.Helper()
	s := &Source{}
	return s.decodeSlow("daily", &http.Response{StatusCode: 200, Status: "200 OK"}, []byte(body))
}

// TestFastPageReadsWhatDecodeReads: on every answer the fast reader accepts, it gives
// what encoding/json gives; what it does not expect it leaves to encoding/json.
func TestFastPageReadsWhatDecodeReads(t *testing.T) {
	t.Parallel()
	accepted := []string{
		`{"request_id":"r1","code":0,"msg":"","data":{"fields":["ts_code","trade_date","close","vol"],"items":[["600519.SH","20250102",1488.0,-2.5e3],["000001.SZ","20250102",null,0]],"has_more":false}}`,
		" {\n \"data\" : { \"has_more\" : true , \"items\" : [ ] , \"fields\" : [ ] } , \"code\" : \"0\" } ",
		`{"code":0,"extra":{"nested":[1,{"a":"b\"c"}],"x":null},"data":{"fields":["name"],"items":[["\u8d35\u5dde\u8305\u53f0"],["贵州茅台"],["a\\b\/c"]],"more":[true,false]}}`,
		`{"data":{"fields":["a"],"items":null}}`,
		`{"code":0,"data":{"fields":["a"],"items":[["bad` + "\xff" + `"]]}}`, // made valid as encoding/json does
		`{"code":null,"data":{"fields":["a","b"],"items":[[true,false]],"has_more":null}}`,
	}
	for _, body := range accepted {
		fast, ok := fastPage([]byte(body))
		require.True(t, ok, body)
		slow, err := slowPage(t, body)
		require.NoError(t, err, body)
		require.Equal(t, slow, fast, body)
	}
	declined := []string{
		`{"code":40203,"msg":"抱歉，您每分钟最多访问该接口500次","data":null}`,
		`{"code":0,"msg":""}`,
		`{"code":0,"data":{"fields":["a"],"items":[[1,2]]}}`,
		`{"code":0,"data":{"fields":["a"],"items":[[01]]}}`,
		`{"code":0,"data":{"fields":["a"],"items":[[1.]]}}`,
		`{"code":0,"data":{"fields":["a"],"items":[["x"]`,
		`{"code":0,"data":{"fields":["a"],"items":[[{"a":1}]]}}`,
		`{"code":0,"data":{"fields":[1],"items":[]}}`,
		`<html>502 Bad Gateway</html>`,
		``,
	}
	for _, body := range declined {
		_, ok := fastPage([]byte(body))
		require.False(t, ok, body)
	}
	for n, want := range map[string]bool{"0": true, "-1.5": true, "1e-7": true, "2E+3": true, "12": true,
		"01": false, "-": false, "1.": false, ".5": false, "1e": false, "--1": false, "1-2": false} {
		require.Equal(t, want, isNumber(n), n)
	}
}
