package market

import (
	"hash/fnv"
	"math"
	"strconv"
	"time"
)

// Digest is an order-independent fingerprint of a day's rows: how many, and the sum of
// each row's FNV-1a hash over its values in a canonical form. Two sets of the same rows,
// in any order, have the same Digest.
type Digest struct {
	Rows int64
	Sum  uint64
}

// Add adds one row, its values in a dataset's column order: text as it is, dates as
// YYYY-MM-DD, numbers by their exact bits, NULL apart from every value.
func (d *Digest) Add(vals []any) {
	h := fnv.New64a()
	var buf []byte
	for _, v := range vals {
		buf = buf[:0]
		switch v := v.(type) {
		case nil:
			buf = append(buf, 0)
		case string:
			buf = append(append(buf, 's'), v...)
		case time.Time:
			buf = append(append(buf, 'd'), v.Format(DateLayout)...)
		case float64:
			buf = strconv.AppendUint(append(buf, 'f'), math.Float64bits(v), 16)
		case int64:
			buf = strconv.AppendInt(append(buf, 'i'), v, 10)
		case int32:
			buf = strconv.AppendInt(append(buf, 'i'), int64(v), 10)
		case int:
			buf = strconv.AppendInt(append(buf, 'i'), int64(v), 10)
		case bool:
			buf = strconv.AppendBool(append(buf, 'b'), v)
		default:
			buf = append(buf, '?')
		}
		buf = append(buf, 0x1f)
		h.Write(buf)
	}
	d.Rows++
	d.Sum += h.Sum64()
}

// Verdict is what verifying one loaded day found: the day matches the source's, or how
// it differs.
type Verdict struct {
	Dataset   string `json:"dataset"`
	Date      string `json:"date"`
	OK        bool   `json:"ok"`
	Source    Digest `json:"-"`
	Warehouse Digest `json:"-"`
	// Note says what differs ("5,601 rows upstream, 5,600 here"), empty when OK.
	Note string `json:"note,omitempty"`
}
