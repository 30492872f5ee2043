// Package catalog is marketsync's wording, in English and Simplified Chinese: every
// visible string of the pages, the API's messages and the CLI's lines, keyed by dotted
// names, the formats of numbers and durations in each language, and the one-line state
// of a batch. Pages speak the viewer's language, the API and the CLI English, the old
// system's paths Chinese: all of them from here, so a state is worded in one place.
package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lang is a language: EN or ZH.
type Lang string

// Supported languages. English is the fallback for anything unknown.
const (
	EN Lang = "en"
	ZH Lang = "zh"
)

// Langs lists the supported languages in toggle order.
func Langs() []Lang { return []Lang{EN, ZH} }

// T returns the text for key in lang, formatted with args as by fmt.Sprintf. A key
// missing in lang falls back to English, and a key missing altogether is returned as it
// is, so a message that is already text passes through (tests check that every key the
// pages use exists).
func T(lang Lang, key string, args ...any) string {
	s := key
	if e, ok := entries[key]; ok {
		s = e.en
		if lang == ZH && e.zh != "" {
			s = e.zh
		}
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Has reports whether key is in the catalog.
func Has(key string) bool {
	_, ok := entries[key]
	return ok
}

// Keys lists every key, sorted.
func Keys() []string { return slices.Sorted(maps.Keys(entries)) }

// Duration formats d to the second: "15m30s", "1h2m5s" / "15分30秒", "1小时2分5秒".
func Duration(lang Lang, d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	h := int64(d / time.Hour)
	m := int64(d/time.Minute) % 60
	s := int64(d/time.Second) % 60
	units := [3]string{"h", "m", "s"}
	if lang == ZH {
		units = [3]string{"小时", "分", "秒"}
	}
	var b strings.Builder
	if h > 0 {
		fmt.Fprintf(&b, "%d%s", h, units[0])
	}
	if h > 0 || m > 0 {
		fmt.Fprintf(&b, "%d%s", m, units[1])
	}
	fmt.Fprintf(&b, "%d%s", s, units[2])
	return b.String()
}

// Number formats n with thousands separators: 1,234,567.
func Number(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Percent formats p (0–100) with one decimal: "42.5%".
func Percent(p float64) string {
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}
