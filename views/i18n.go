package views

import (
	"fmt"
	"strconv"
	"time"

	"golang.org/x/text/language"

	"github.com/marketsync/marketsync/internal/catalog"
	"github.com/marketsync/marketsync/internal/market"
)

// Lang is a user interface language: LangEN or LangZH.
type Lang = catalog.Lang

// Supported languages. English is the fallback for anything unknown.
const (
	LangEN = catalog.EN
	LangZH = catalog.ZH
)

// Langs lists the supported languages in toggle order.
func Langs() []Lang { return catalog.Langs() }

// Locale is how one rendering speaks: its language, the zone in which times are shown,
// the time it is rendered at (durations and "in 5m" are from it), and (for full pages
// only) the current request path, which the language toggle sends back as next=.
// Fragments pushed to many viewers must not set Path.
type Locale struct {
	Lang Lang
	// Zone is where times are shown; nil means China Standard Time (UTC+8), the exchange's.
	Zone *time.Location
	// Now is the time of the rendering (zero: the current time).
	Now time.Time
	// Path is the current page's path and query ("/batches?page=2"), used only by the
	// layout's language links; empty means "/".
	Path string
	// Synthetic names a configured source whose data is made up (the demo): the header
	// says so.
	Synthetic string
	// User is who the page is for; the zero value is nobody (the login page, the
	// fragments the hub pushes to every viewer alike).
	User Viewer
}

// Viewer is who a page is rendered for.
type Viewer struct {
	// Name is the signed-in user's; "" for an anonymous viewer.
	Name string
	// Role is what they may do; "" for nobody.
	Role market.Role
	// CSRF is the session's token, sent back with every state-changing request of the
	// page (htmx's header, a plain form's field); "" without a session.
	CSRF string
	// LoginOffered shows a sign-in link to an anonymous viewer.
	LoginOffered bool
}

// Can reports whether the page's viewer has at least role need. Pushed fragments have
// no viewer: what they offer is hidden by CSS from a viewer's page (operator-only).
func (l Locale) Can(need market.Role) bool { return l.User.Role.AtLeast(need) }

// now is the time of the rendering.
func (l Locale) now() time.Time {
	if l.Now.IsZero() {
		return time.Now()
	}
	return l.Now
}

// supported matches request languages to ours; English first, the fallback.
var supported = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// ParseLang picks the language for a request: a cookie holding "en" or "zh" wins, then
// the best match of the Accept-Language header (any Chinese is served Simplified
// Chinese), then English.
func ParseLang(acceptLanguage, cookie string) Lang {
	switch Lang(cookie) {
	case LangEN, LangZH:
		return Lang(cookie)
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return LangEN
	}
	_, i, conf := supported.Match(tags...)
	if conf == language.No {
		return LangEN
	}
	return Langs()[i]
}

// T returns the catalog's text for key in lang (see catalog.T).
func T(lang Lang, key string, args ...any) string { return catalog.T(lang, key, args...) }

// HasKey reports whether key is in the catalog.
func HasKey(key string) bool { return catalog.Has(key) }

// T returns the catalog's text for key in l's language (see the function T).
func (l Locale) T(key string, args ...any) string { return catalog.T(l.Lang, key, args...) }

// Location returns the zone in which l shows times.
func (l Locale) Location() *time.Location {
	if l.Zone == nil {
		return market.ExchangeZone
	}
	return l.Zone
}

// Duration formats d to the second: "15m30s", "1h2m5s" / "15分30秒", "1小时2分5秒".
func (l Locale) Duration(d time.Duration) string { return catalog.Duration(l.Lang, d) }

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
func (l Locale) Number(n int64) string { return catalog.Number(n) }

// Int formats n with thousands separators.
func (l Locale) Int(n int) string { return catalog.Number(int64(n)) }

// Percent formats p (0–100) with one decimal: "42.5%".
func (l Locale) Percent(p float64) string { return catalog.Percent(p) }

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
