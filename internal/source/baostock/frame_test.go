package baostock

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// capture is one folder of testdata: real bytes exchanged with Baostock by its 0.9.1
// Python client, and what that client decoded.
type capture struct {
	name          string
	request       []byte
	response      []byte
	decoded       []byte // response.decoded.txt, k data only
	code, msg     string
	fields        []string
	rows          int
	reqType       string
	requestFields []string // the call as the client builds it
	fieldsAt      int
}

// captureCalls says how each captured call was made, field by field.
var captureCalls = map[string]struct {
	typ      string
	fields   []string
	fieldsAt int
}{
	"login": {TypeLogin, []string{"login", "anonymous", "123456", "0"}, 0},
	"query_trade_dates": {TypeTradeDates, []string{"query_trade_dates", "anonymous", "1", "10000",
		"2024-01-01", "2024-01-10"}, fieldsAtTradeDates},
	"query_all_stock": {TypeAllStock, []string{"query_all_stock", "anonymous", "1", "10000",
		"2024-01-02"}, fieldsAtAllStock},
	"query_stock_basic": {TypeStockBasic, []string{"query_stock_basic", "anonymous", "1", "10000",
		"sh.600000", ""}, fieldsAtStockBasic},
	"query_adjust_factor": {TypeAdjustFactor, []string{"query_adjust_factor", "anonymous", "1", "10000",
		"sh.600000", "2023-01-01", "2023-12-31"}, fieldsAtAdjustFactor},
	"query_history_k_data_plus": {TypeKData, []string{"query_history_k_data_plus", "anonymous", "1", "10000",
		"sh.600000", "date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,pctChg,isST",
		"2024-01-01", "2024-01-31", "d", "2"}, fieldsAtKData},
}

var metaField = regexp.MustCompile(`'([^']*)'`)

func loadCaptures(t *testing.T) []capture {
	t.Helper()
	dirs, err := os.ReadDir("testdata")
	require.NoError(t, err)
	var out []capture
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join("testdata", d.Name())
		c := capture{name: d.Name()}
		c.request, err = os.ReadFile(filepath.Join(dir, "request.bin"))
		require.NoError(t, err)
		c.response, err = os.ReadFile(filepath.Join(dir, "response.bin"))
		require.NoError(t, err)
		if b, err := os.ReadFile(filepath.Join(dir, "response.decoded.txt")); err == nil {
			c.decoded = b
		}
		meta, err := os.ReadFile(filepath.Join(dir, "meta.txt"))
		require.NoError(t, err)
		for _, line := range strings.Split(string(meta), "\n") {
			k, v, _ := strings.Cut(line, "=")
			switch k {
			case "error_code":
				c.code = v
			case "error_msg":
				c.msg = v
			case "fields":
				for _, m := range metaField.FindAllStringSubmatch(v, -1) {
					c.fields = append(c.fields, m[1])
				}
			case "rows":
				c.rows, err = strconv.Atoi(v)
				require.NoError(t, err)
			}
		}
		call, ok := captureCalls[c.name]
		require.True(t, ok, "no call known for capture %s", c.name)
		c.reqType, c.requestFields, c.fieldsAt = call.typ, call.fields, call.fieldsAt
		out = append(out, c)
	}
	require.Len(t, out, len(captureCalls))
	return out
}

func TestGoldenRequestsEncodeByteForByte(t *testing.T) {
	t.Parallel()
	for _, c := range loadCaptures(t) {
		got, err := EncodeRequest(Message{Version: "00.9.10", Type: c.reqType, Body: strings.Join(c.requestFields, Sep)})
		require.NoError(t, err, c.name)
		require.Equal(t, string(c.request), string(got), c.name)

		m, err := ReadRequest(bufio.NewReader(bytes.NewReader(c.request)), 0)
		require.NoError(t, err, c.name)
		require.Equal(t, c.requestFields, m.Fields(), c.name)
	}
}

func TestGoldenResponsesDecodeToWhatPythonSaw(t *testing.T) {
	t.Parallel()
	for _, c := range loadCaptures(t) {
		rd := bufio.NewReader(bytes.NewReader(c.response))
		m, err := ReadResponse(rd, 0)
		require.NoError(t, err, c.name)
		require.Zero(t, rd.Buffered(), "%s: bytes left after the frame", c.name)
		require.Equal(t, "00.9.00", m.Version)
		require.Equal(t, ReplyType(c.reqType), m.Type, c.name)
		if c.decoded != nil {
			require.Equal(t, string(c.decoded), m.Body, c.name)
		}
		out := m.Fields()
		require.Equal(t, c.code, out[0], c.name)
		require.Equal(t, c.msg, out[1], c.name)
		if c.reqType == TypeLogin {
			require.Equal(t, []string{"0", "success", "login", "anonymous", "20260422163759563"}, out)
			continue
		}
		fields, rows, err := parsePage(out, c.fieldsAt)
		require.NoError(t, err, c.name)
		require.Equal(t, c.fields, fields, c.name)
		require.Len(t, rows, c.rows, c.name)
	}
}

// The plain captures encode back byte for byte, CRC included: the fake server's frames
// are the real server's.
func TestEncodeResponseReproducesPlainCaptures(t *testing.T) {
	t.Parallel()
	for _, c := range loadCaptures(t) {
		m, err := ReadResponse(bufio.NewReader(bytes.NewReader(c.response)), 0)
		require.NoError(t, err)
		enc, err := EncodeResponse(m)
		require.NoError(t, err)
		if !IsCompressed(m.Type) {
			require.Equal(t, string(c.response), string(enc), c.name)
			continue
		}
		again, err := ReadResponse(bufio.NewReader(bytes.NewReader(enc)), 0)
		require.NoError(t, err)
		require.Equal(t, m, again, c.name)
	}
}

// BODYLEN counts characters: the universe's 188,897-byte body declares 142,823.
func TestBodyLengthCountsCharacters(t *testing.T) {
	t.Parallel()
	for _, c := range loadCaptures(t) {
		if c.name != "query_all_stock" {
			continue
		}
		require.Equal(t, "0000142823", string(c.response[11:21]))
	}
	got, err := EncodeRequest(Message{Version: "00.9.10", Type: TypeStockBasic,
		Body: "query_stock_basic\x01anonymous\x011\x0110000\x01\x01浦发银行"})
	require.NoError(t, err)
	// Computed with Python: len(body) and zlib.crc32 over the UTF-8 of header+body.
	require.Equal(t, "00.9.10\x0145\x010000000041query_stock_basic\x01anonymous\x011\x0110000\x01\x01浦发银行\x012611014176\n", string(got))

	errFrame, err := EncodeResponse(Message{Version: "00.9.00", Type: TypeError, Body: "10004020\x01错误的消息类型"})
	require.NoError(t, err)
	require.Equal(t, "0000000016", string(errFrame[11:21]), "the facts file's error frame declares 16")
}

func TestReadResponseNeverHangsOnATruncatedFrame(t *testing.T) {
	t.Parallel()
	for _, c := range loadCaptures(t) {
		step := max(1, len(c.response)/300)
		for cut := 0; cut < len(c.response); cut += step {
			_, err := ReadResponse(bufio.NewReader(bytes.NewReader(c.response[:cut])), 0)
			if cut == 0 {
				require.ErrorIs(t, err, io.EOF)
				continue
			}
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "%s cut at %d", c.name, cut)
		}
		_, err := ReadResponse(bufio.NewReader(bytes.NewReader(c.response[:len(c.response)-1])), 0)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	}
}

func TestReadResponseRejectsGarbage(t *testing.T) {
	t.Parallel()
	login := []byte("00.9.00\x0101\x0100000000430\x01success\x01login\x01anonymous\x0120260422163759563\x014202758179<![CDATA[]]>\n")
	cases := map[string][]byte{
		"http":        []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n<![CDATA[]]>\n"),
		"bad length":  bytes.Replace(login, []byte("0000000043"), []byte("00000000x3"), 1),
		"bad crc":     bytes.Replace(login, []byte("4202758179"), []byte("4202758178"), 1),
		"junk tail":   bytes.Replace(login, []byte("\x014202758179"), []byte("\x01xyz"), 1),
		"short body":  bytes.Replace(login, []byte("0000000043"), []byte("0000000040"), 1),
		"over cap":    []byte("00.9.00\x0101\x019999999999" + strings.Repeat("x", 100)),
		"not utf8":    []byte("00.9.00\x0104\x0100000000040\x01\xff\xfe<![CDATA[]]>\n"),
		"zlib":        []byte("00.9.00\x0196\x010000000005hello\x011\n<![CDATA[]]>\n"),
		"no marker z": []byte("00.9.00\x0196\x010000000005hello" + strings.Repeat("y", 100)),
	}
	for name, b := range cases {
		_, err := ReadResponse(bufio.NewReader(bytes.NewReader(b)), 1<<20)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
	// A BODYLEN larger than what follows waits for more: the caller's deadline ends it;
	// here the stream's end does.
	long := bytes.Replace(login, []byte("0000000043"), []byte("0000000090"), 1)
	_, err := ReadResponse(bufio.NewReader(bytes.NewReader(long)), 0)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestReadResponseToleratesAMissingCRCAndAMarkerInTheBody(t *testing.T) {
	t.Parallel()
	noCRC := "00.9.00\x0104\x01000000001610004020\x01错误的消息类型<![CDATA[]]>\n"
	m, err := ReadResponse(bufio.NewReader(strings.NewReader(noCRC)), 0)
	require.NoError(t, err)
	require.Equal(t, []string{"10004020", "错误的消息类型"}, m.Fields())

	body := "0\x01success\x01x<![CDATA[]]>\ny"
	enc, err := EncodeResponse(Message{Version: "00.9.00", Type: "34", Body: body})
	require.NoError(t, err)
	rd := bufio.NewReader(io.MultiReader(bytes.NewReader(enc), strings.NewReader("next")))
	m, err = ReadResponse(rd, 0)
	require.NoError(t, err)
	require.Equal(t, body, m.Body)
	rest, _ := io.ReadAll(rd)
	require.Equal(t, "next", string(rest))
}

func TestCompressedTypes(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"96", "99", "9B", "9D"} {
		require.True(t, IsCompressed(typ))
		enc, err := EncodeResponse(Message{Version: "00.9.00", Type: typ, Body: "0\x01success\x01中文"})
		require.NoError(t, err)
		m, err := ReadResponse(bufio.NewReader(bytes.NewReader(enc)), 0)
		require.NoError(t, err)
		require.Equal(t, "0\x01success\x01中文", m.Body)
	}
	require.False(t, IsCompressed("95"))
	require.Equal(t, "96", ReplyType("95"))
	require.Equal(t, "9D", ReplyType("9C"))
	require.Equal(t, "01", ReplyType("00"))

	// A decompressed body over the cap is refused.
	enc, err := EncodeResponse(Message{Version: "00.9.00", Type: "96", Body: strings.Repeat("a", 5000)})
	require.NoError(t, err)
	_, err = ReadResponse(bufio.NewReader(bytes.NewReader(enc)), 4096)
	require.ErrorIs(t, err, ErrMalformed)
}

func TestParseRecords(t *testing.T) {
	t.Parallel()
	rows, err := parseRecords("{\"record\":[[\"a b\",\n\"c\td\", null, 1.5, \"\"],\r\n[\"x\u3000y\",\"\",\"\",\"\",\"\"]]}")
	require.NoError(t, err)
	require.Equal(t, [][]string{{"a b", "cd", "", "1.5", ""}, {"x\u3000y", "", "", "", ""}}, rows)

	rows, err = parseRecords(" \n")
	require.NoError(t, err)
	require.Empty(t, rows)
	rows, err = parseRecords(`{"record":[]}`)
	require.NoError(t, err)
	require.Empty(t, rows)

	_, err = parseRecords(`{"record":[[`)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = parseRecords(`{"record":[[{"a":1}]]}`)
	require.ErrorIs(t, err, ErrMalformed)

	require.Equal(t, []string{"code", "code_name", "ipoDate"}, parseFieldList("code, code_name, ipoDate"))
}

func TestReadRequestChecksItsFrame(t *testing.T) {
	t.Parallel()
	good := "00.9.10\x0100\x010000000024login\x01anonymous\x01123456\x010\x01359766228\n"
	_, err := ReadRequest(bufio.NewReader(strings.NewReader(good)), 0)
	require.NoError(t, err)
	for name, b := range map[string]string{
		"crc":    strings.Replace(good, "359766228", "359766229", 1),
		"no crc": strings.Replace(good, "\x01359766228", "", 1),
		"length": strings.Replace(good, "0000000024", "0000000023", 1),
	} {
		_, err := ReadRequest(bufio.NewReader(strings.NewReader(b)), 0)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
	_, err = ReadRequest(bufio.NewReader(strings.NewReader(good[:30])), 0)
	require.True(t, errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
}
