package baostock

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Table is the answer of a query: its field names and its rows, every page together.
// Values are Baostock's strings verbatim; "" means null.
type Table struct {
	// Fields names the columns, as the reply lists them (spaces trimmed).
	Fields []string
	// Rows holds one value per field each.
	Rows [][]string
}

// Col returns the index of the field called name, or -1.
func (t *Table) Col(name string) int {
	for i, f := range t.Fields {
		if f == name {
			return i
		}
	}
	return -1
}

// cols returns the indices of names, or an error naming the first one missing.
func (t *Table) cols(names ...string) ([]int, error) {
	idx := make([]int, len(names))
	for i, n := range names {
		if idx[i] = t.Col(n); idx[i] < 0 {
			return nil, fmt.Errorf("baostock: the reply has no field %q (fields: %v)", n, t.Fields)
		}
	}
	return idx, nil
}

// Where the reply body of each paged query lists its fields. A paged reply reads
// code|msg|method|user|page|perPage|{"record":…}|the request's args…|fields, except k
// data, which echoes code and fields first and start, end, frequency, adjustflag after.
const (
	fieldsAtTradeDates   = 9
	fieldsAtAllStock     = 8
	fieldsAtStockBasic   = 9
	fieldsAtAdjustFactor = 10
	fieldsAtKData        = 8
	recordAt             = 6
)

// parsePage decodes the records and field names of one page's reply fields. A page
// without records need not list its fields.
func parsePage(out []string, fieldsAt int) ([]string, [][]string, error) {
	if len(out) <= recordAt {
		return nil, nil, fmt.Errorf("%w: the reply has %d fields, no record", ErrMalformed, len(out))
	}
	rows, err := parseRecords(out[recordAt])
	if err != nil {
		return nil, nil, err
	}
	if len(out) <= fieldsAt {
		if len(rows) == 0 {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("%w: the reply has %d fields, no field list", ErrMalformed, len(out))
	}
	fields := parseFieldList(out[fieldsAt])
	for i, r := range rows {
		if len(r) != len(fields) {
			return nil, nil, fmt.Errorf("%w: record %d has %d values for %d fields", ErrMalformed, i, len(r), len(fields))
		}
	}
	return fields, rows, nil
}

// parseFieldList splits "code, code_name, ipoDate" into trimmed names, as setFields does.
func parseFieldList(s string) []string {
	names := strings.Split(s, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	return names
}

// jsonControlSpace drops the characters that Python's str.split() treats as whitespace
// and that JSON forbids raw inside a string: \t \n \v \f \r and \x1c–\x1f. The Python
// client's setData removes every whitespace character before json.loads (to survive line
// breaks in the data), which also deletes spaces inside names: the captured universe has
// "中证财通中国可持续发展100(ECPI ESG)指数", which Python turns into "…(ECPIESG)…". Go's
// decoder accepts spaces between tokens, so we keep printable spaces (U+0020, U+3000,
// U+00A0) and with them the names intact.
func jsonControlSpace(r rune) rune {
	switch {
	case r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r', r >= 0x1c && r <= 0x1f:
		return -1
	}
	return r
}

// parseRecords decodes {"record":[[…],…]}. Values are strings; null becomes "", and a
// number or boolean its JSON text, should the server ever send one. An empty text means
// no records, as the Python client reads it.
func parseRecords(s string) ([][]string, error) {
	if rows, ok := fastRecords(s); ok {
		return rows, nil
	}
	return slowRecords(s)
}

// slowRecords is parseRecords with encoding/json, for every text fastRecords declines.
func slowRecords(s string) ([][]string, error) {
	s = strings.Map(jsonControlSpace, s)
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var v struct {
		Record [][]any `json:"record"`
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: record JSON: %v", ErrMalformed, err)
	}
	rows := make([][]string, len(v.Record))
	for i, rec := range v.Record {
		row := make([]string, len(rec))
		for j, x := range rec {
			switch x := x.(type) {
			case string:
				row[j] = x
			case nil:
			case json.Number:
				row[j] = x.String()
			case bool:
				row[j] = strconv.FormatBool(x)
			default:
				return nil, fmt.Errorf("%w: record %d value %d is a %T", ErrMalformed, i, j, x)
			}
		}
		rows[i] = row
	}
	return rows, nil
}

// fastRecords reads the common record JSON, {"record":[["…",…],…]} of plain strings
// (no escape) and nulls, in one pass without reflection: a year of a stock's k data is
// 242 rows of 17 values, 6,000 stocks a batch. Anything else (escapes, numbers, other
// keys, whitespace inside) reports ok false and parseRecords reads it the thorough way.
func fastRecords(s string) (rows [][]string, ok bool) {
	const head = `{"record":[`
	if !strings.HasPrefix(s, head) {
		return nil, false
	}
	i := len(head)
	if strings.HasPrefix(s[i:], "]}") && len(s) == i+2 {
		return [][]string{}, true
	}
	for {
		if i >= len(s) || s[i] != '[' {
			return nil, false
		}
		i++
		var row []string
		for {
			switch {
			case strings.HasPrefix(s[i:], "null"):
				row = append(row, "")
				i += 4
			case i < len(s) && s[i] == '"':
				end := strings.IndexByte(s[i+1:], '"')
				if end < 0 {
					return nil, false
				}
				v := s[i+1 : i+1+end]
				if strings.IndexByte(v, '\\') >= 0 || !utf8.ValidString(v) ||
					strings.IndexFunc(v, func(r rune) bool { return r < 0x20 }) >= 0 {
					return nil, false
				}
				row = append(row, v)
				i += end + 2
			default:
				return nil, false
			}
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			if i < len(s) && s[i] == ']' {
				i++
				break
			}
			return nil, false
		}
		rows = append(rows, row)
		switch {
		case i < len(s) && s[i] == ',':
			i++
		case s[i:] == "]}":
			return rows, true
		default:
			return nil, false
		}
	}
}
