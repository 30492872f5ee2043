package tushare

import (
	"encoding/json"
	"hash/fnv"
	"unicode/utf8"
)

// fastPage reads a successful answer (code 0 or absent, a data object with fields and
// items) in one pass over raw, without reflection: a day of daily_basic is some 6,000
// rows of 18 values, and encoding/json spent more CPU on them than the rest of a load.
// Values come out as decode's do: string, json.Number, bool or nil. Anything else (an
// error code, no data, a value it does not expect, malformed JSON) reports ok false,
// and decode reads the answer the thorough way, with its precise errors.
func fastPage(raw []byte) (p *page, ok bool) {
	r := &scanner{b: raw}
	p = &page{}
	sawData := false
	ok = r.object(func(key string) bool {
		switch key {
		case "code":
			v, ok := r.scalar()
			switch c := v.(type) {
			case json.Number:
				return ok && c == "0"
			case string:
				return ok && c == "0"
			}
			return ok && v == nil
		case "request_id":
			v, ok := r.scalar()
			p.id, _ = v.(string)
			return ok
		case "data":
			sawData = true
			return r.data(p)
		}
		return r.skip()
	})
	if !ok || !sawData {
		return nil, false
	}
	for _, it := range p.items {
		if len(it) != len(p.fields) {
			return nil, false
		}
	}
	return p, true
}

// scanner reads JSON from b at i.
type scanner struct {
	b []byte
	i int
}

func (r *scanner) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// next skips whitespace and reports whether the next byte is c, consuming it if so.
func (r *scanner) next(c byte) bool {
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// object reads an object, calling member for each key with the scanner at its value.
func (r *scanner) object(member func(key string) bool) bool {
	if !r.next('{') {
		return false
	}
	if r.next('}') {
		return true
	}
	for {
		r.ws()
		key, ok := r.str()
		if !ok || !r.next(':') || !member(key) {
			return false
		}
		if r.next('}') {
			return true
		}
		if !r.next(',') {
			return false
		}
	}
}

// array reads an array, calling elem with the scanner at each element.
func (r *scanner) array(elem func() bool) bool {
	if !r.next('[') {
		return false
	}
	if r.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if r.next(']') {
			return true
		}
		if !r.next(',') {
			return false
		}
	}
}

// data reads the data object into p; null data is not a page.
func (r *scanner) data(p *page) bool {
	return r.object(func(key string) bool {
		switch key {
		case "fields":
			p.fields = []string{}
			return r.array(func() bool {
				v, ok := r.scalar()
				s, isStr := v.(string)
				p.fields = append(p.fields, s)
				return ok && isStr
			})
		case "items":
			r.ws()
			start := r.i
			if r.literal("null") {
				p.items = nil
			} else if p.items = [][]any{}; !r.array(func() bool { return r.item(p) }) {
				return false
			}
			h := fnv.New64a()
			h.Write(r.b[start:r.i])
			p.hash = h.Sum64()
			return true
		case "has_more":
			v, ok := r.scalar()
			if b, isBool := v.(bool); isBool {
				p.hasMore = &b
			}
			return ok && (v == nil || p.hasMore != nil)
		}
		return r.skip()
	})
}

// item reads one row of scalars.
func (r *scanner) item(p *page) bool {
	row := make([]any, 0, len(p.fields))
	ok := r.array(func() bool {
		v, ok := r.scalar()
		row = append(row, v)
		return ok
	})
	p.items = append(p.items, row)
	return ok
}

// scalar reads a string, number, true, false or null.
func (r *scanner) scalar() (any, bool) {
	r.ws()
	if r.i >= len(r.b) {
		return nil, false
	}
	switch c := r.b[r.i]; {
	case c == '"':
		return r.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	case r.literal("null"):
		return nil, true
	case r.literal("true"):
		return true, true
	case r.literal("false"):
		return false, true
	}
	return nil, false
}

// literal consumes word if it comes next.
func (r *scanner) literal(word string) bool {
	if len(r.b)-r.i >= len(word) && string(r.b[r.i:r.i+len(word)]) == word {
		r.i += len(word)
		return true
	}
	return false
}

// number reads a JSON number as a json.Number.
func (r *scanner) number() (any, bool) {
	start := r.i
	for r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			r.i++
			continue
		}
		break
	}
	n := string(r.b[start:r.i])
	return json.Number(n), isNumber(n)
}

// isNumber reports whether s follows JSON's number grammar.
func isNumber(s string) bool {
	i := 0
	digits := func() bool {
		from := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > from
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if i >= len(s) || s[i] < '1' || s[i] > '9' || !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

// str reads a string; one with escapes or bytes that are not UTF-8 is left to
// encoding/json, which decodes them as decode would.
func (r *scanner) str() (string, bool) {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return "", false
	}
	start := r.i
	r.i++
	plain := true
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			if plain {
				return string(r.b[start+1 : r.i-1]), true
			}
			var s string
			err := json.Unmarshal(r.b[start:r.i], &s)
			return s, err == nil
		case c == '\\':
			plain = false
			r.i += 2
			continue
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			if _, size := utf8.DecodeRune(r.b[r.i:]); size == 1 {
				plain = false
			}
		}
		r.i++
	}
	return "", false
}

// skip reads and drops any value.
func (r *scanner) skip() bool {
	r.ws()
	if r.i >= len(r.b) {
		return false
	}
	switch r.b[r.i] {
	case '{':
		return r.object(func(string) bool { return r.skip() })
	case '[':
		return r.array(r.skip)
	}
	_, ok := r.scalar()
	return ok
}
