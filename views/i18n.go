package views

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Lang is a user interface language: LangEN or LangZH.
type Lang string

// Supported languages. English is the fallback for anything unknown.
const (
	LangEN Lang = "en"
	LangZH Lang = "zh"
)

// Langs lists the supported languages in toggle order.
func Langs() []Lang { return []Lang{LangEN, LangZH} }

// Locale is how one rendering speaks: its language, the zone in which times are shown,
// and (for full pages only) the current request path, which the language toggle sends
// back as next=. Fragments pushed to many viewers must not set Path.
type Locale struct {
	Lang Lang
	// Zone is where times are shown; nil means China Standard Time (UTC+8), the exchange's.
	Zone *time.Location
	// Path is the current page's path and query ("/batches?page=2"), used only by the
	// layout's language links; empty means "/".
	Path string
}

// ParseLang picks the language for a request: a cookie holding "en" or "zh" (or any
// zh-*/en-* tag) wins, then the first supported language of the Accept-Language header
// by quality, then English.
func ParseLang(acceptLanguage, cookie string) Lang {
	if l, ok := matchLang(cookie); ok {
		return l
	}
	best, bestQ := LangEN, -1.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l, ok := matchLang(tag); ok && q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

func matchLang(tag string) (Lang, bool) {
	tag = strings.ToLower(strings.TrimSpace(tag))
	switch {
	case tag == "zh" || strings.HasPrefix(tag, "zh-") || strings.HasPrefix(tag, "zh_"):
		return LangZH, true
	case tag == "en" || strings.HasPrefix(tag, "en-") || strings.HasPrefix(tag, "en_"):
		return LangEN, true
	}
	return "", false
}

// T returns the catalog's text for key in lang, formatted with args as by fmt.Sprintf.
// A key missing in lang falls back to English, and a key missing altogether is returned
// as it is, so a message that is already text passes through.
func T(lang Lang, key string, args ...any) string {
	s := key
	if e, ok := catalog[key]; ok {
		s = e.en
		if lang == LangZH && e.zh != "" {
			s = e.zh
		}
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// HasKey reports whether key is in the catalog.
func HasKey(key string) bool {
	_, ok := catalog[key]
	return ok
}

// T returns the catalog's text for key in l's language (see the function T).
func (l Locale) T(key string, args ...any) string { return T(l.Lang, key, args...) }

// Location returns the zone in which l shows times.
func (l Locale) Location() *time.Location {
	if l.Zone == nil {
		return time.FixedZone("CST", 8*60*60)
	}
	return l.Zone
}

// Duration formats d to the second: "15m30s", "1h2m5s" / "15分30秒", "1小时2分5秒".
func (l Locale) Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	h := int64(d / time.Hour)
	m := int64(d/time.Minute) % 60
	s := int64(d/time.Second) % 60
	units := [3]string{"h", "m", "s"}
	if l.Lang == LangZH {
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

// DateTime formats t in l's zone as "2025-10-09 15:04:05".
func (l Locale) DateTime(t time.Time) string {
	return t.In(l.Location()).Format("2006-01-02 15:04:05")
}

// Clock formats t in l's zone as "15:04:05".
func (l Locale) Clock(t time.Time) string {
	return t.In(l.Location()).Format("15:04:05")
}

// ClockNear formats t as a clock time, with the month and day in front when t is not on
// the same local day as ref: "15:04" or "10-10 15:04" / "10月10日 15:04".
func (l Locale) ClockNear(t, ref time.Time) string {
	loc := l.Location()
	t, ref = t.In(loc), ref.In(loc)
	if t.YearDay() == ref.YearDay() && t.Year() == ref.Year() {
		return t.Format("15:04")
	}
	if l.Lang == LangZH {
		return t.Format("1月2日 15:04")
	}
	return t.Format("Jan 2 15:04")
}

// Number formats n with thousands separators: 1,234,567.
func (l Locale) Number(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
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

// Int formats n with thousands separators.
func (l Locale) Int(n int) string { return l.Number(int64(n)) }

// Percent formats p (0–100) with one decimal: "42.5%".
func (l Locale) Percent(p float64) string {
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

// Date formats an ISO date ("2025-10-09") for reading: "Thu, Oct 9, 2025" / "2025年10月9日 周四";
// anything that does not parse is returned as it is.
func (l Locale) Date(iso string) string {
	d, err := time.Parse("2006-01-02", iso)
	if err != nil {
		return iso
	}
	if l.Lang == LangZH {
		return fmt.Sprintf("%d年%d月%d日 %s", d.Year(), d.Month(), d.Day(), l.Weekday(d.Weekday()))
	}
	return d.Format("Mon, Jan 2, 2006")
}

// Weekday returns the short name of a weekday: "Mon" / "周一".
func (l Locale) Weekday(w time.Weekday) string {
	return l.T("weekday." + strconv.Itoa(int(w)))
}

// Month returns the short name of a month: "Oct" / "10月".
func (l Locale) Month(m time.Month) string {
	if l.Lang == LangZH {
		return strconv.Itoa(int(m)) + "月"
	}
	return m.String()[:3]
}
