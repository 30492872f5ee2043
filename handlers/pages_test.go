package handlers_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/calendar"
	"github.com/marketsync/marketsync/internal/market"
)

func htmx(extra ...string) []string { return append([]string{"HX-Request", "true"}, extra...) }

func TestDashboardPage(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	r := e.do(t, "GET", "/", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, r.header.Get("Content-Type"), "text/html")
	require.Contains(t, r.body, `id="start-form"`)
	require.Contains(t, r.body, `ws-connect="/ws/dashboard"`)
	require.Contains(t, r.body, `lang="en"`)

	r = e.do(t, "GET", "/", nil, "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
	require.Contains(t, r.body, `lang="zh-CN"`)
	// The cookie wins over the header.
	r = e.do(t, "GET", "/", nil, "Accept-Language", "zh-CN", "Cookie", "lang=en")
	require.Contains(t, r.body, `lang="en"`)
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func TestStartForm(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})

	// Field errors come back next to their fields, in the viewer's language.
	r := e.do(t, "POST", "/batches", form("start_date", "2025-10-09", "end_date", "2025-10-01",
		"datasets", "daily", "priority", "2"), htmx()...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, `id="start-form"`)
	require.Regexp(t, `id="err-end_date"[^>]*>\s*end date is before start date`, r.body)

	r = e.do(t, "POST", "/batches", form("start_date", "", "end_date", "2025-10-01", "priority", "9"),
		htmx("Cookie", "lang=zh")...)
	require.Equal(t, 200, r.status, r.body)
	require.Regexp(t, `id="err-start_date"[^>]*>\s*请填写日期`, r.body)
	require.Regexp(t, `id="err-datasets"[^>]*>\s*请至少选择一个数据集`, r.body)
	require.Regexp(t, `id="err-priority"[^>]*>\s*优先级须为`, r.body)

	// Without htmx the dashboard comes back with the errors, as 422.
	r = e.do(t, "POST", "/batches", form("start_date", "1970-01-01", "end_date", "2025-10-01", "datasets", "daily"))
	require.Equal(t, 422, r.status)
	require.Contains(t, r.body, "outside the trading calendar")

	// A started batch: the form again and the batch out of band.
	r = e.do(t, "POST", "/batches", form("start_date", "2025-10-08", "end_date", "2025-10-09",
		"datasets", "daily", "priority", "3", "force", "true"), htmx()...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, `id="start-form"`)
	id := regexp.MustCompile(`/batches/(2025-10-08_2025-10-09_[0-9-]+)`).FindStringSubmatch(r.body)
	require.NotNil(t, id, r.body)
	snap := e.wait(t, id[1])
	require.Equal(t, "web", snap.CreatedBy)
	require.Equal(t, 3, snap.Priority)
	require.True(t, snap.Force)

	// A plain POST is redirected to the batch's page.
	r = e.do(t, "POST", "/batches", form("start_date", "2025-10-09", "end_date", "2025-10-09", "datasets", "daily"))
	require.Equal(t, 303, r.status)
	require.Regexp(t, `^/batches/2025-10-09_2025-10-09_\d+`, r.header.Get("Location"))
	e.wait(t, strings.TrimPrefix(r.header.Get("Location"), "/batches/"))
}

func TestBatchPages(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	id := e.start(t, `{"start_date":"2025-09-29","end_date":"2025-10-10"}`)
	e.wait(t, id)

	r := e.do(t, "GET", "/batches/"+id, nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, `ws-connect="/ws/batches/`+id+`"`)
	require.Contains(t, r.body, `id="cell-daily-2025-09-29"`)
	require.Contains(t, r.body, `data-testid="final-message"`)

	r = e.do(t, "GET", "/batches/"+id+"/errors?page=2", nil)
	require.Equal(t, 200, r.status)

	r = e.do(t, "GET", "/batches/2020-01-01_2020-01-02_1", nil)
	require.Equal(t, 404, r.status)
	require.Contains(t, r.body, "no such batch")
	r = e.do(t, "GET", "/batches/nope/errors", nil)
	require.Equal(t, 404, r.status)
	r = e.do(t, "GET", "/no/such/page", nil)
	require.Equal(t, 404, r.status)
	require.Contains(t, r.body, "<html")

	r = e.do(t, "GET", "/batches?status=completed&dataset=daily&page=1", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, id)
	r = e.do(t, "GET", "/batches?status=cancelled", nil)
	require.Equal(t, 200, r.status)
	require.NotContains(t, r.body, id)
	r = e.do(t, "GET", "/batches?status=bogus", nil)
	require.Equal(t, 200, r.status, "an unknown filter is ignored")
	r = e.do(t, "GET", "/batches?page=zero", nil)
	require.Equal(t, 400, r.status, "a page that is not a number is refused")
}

func TestBatchActions(t *testing.T) {
	t.Parallel()
	e := setup(t, options{latency: 300 * time.Millisecond})
	id := e.start(t, `{"start_date":"2025-03-03","end_date":"2025-03-28"}`)

	r := e.do(t, "POST", "/batches/"+id+"/pause", nil, htmx()...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, "Batch paused.")
	// The controls come back out of band: now with a resume button.
	require.Regexp(t, `id="batch-controls"[^>]*hx-swap-oob="true"`, r.body)
	require.Contains(t, r.body, `data-action="resume"`)

	r = e.do(t, "POST", "/batches/"+id+"/pause", nil, htmx("Cookie", "lang=zh")...)
	require.Equal(t, 409, r.status, r.body)
	require.Contains(t, r.body, "该批次当前状态不允许此操作")

	r = e.do(t, "POST", "/batches/"+id+"/resume", nil, htmx()...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, "Batch resumed.")

	r = e.do(t, "POST", "/batches/"+id+"/cancel", nil)
	require.Equal(t, 303, r.status)
	require.Equal(t, "/batches/"+id, r.header.Get("Location"))
	snap := e.wait(t, id)
	require.Equal(t, market.BatchCancelled, snap.Status)
	require.Contains(t, *snap.CancelledBy, "web")

	r = e.do(t, "POST", "/batches/"+id+"/cancel", nil, htmx()...)
	require.Equal(t, 409, r.status, r.body)
	require.Contains(t, r.body, "flash-error")

	r = e.do(t, "POST", "/batches/nope/retry", nil, htmx()...)
	require.Equal(t, 404, r.status, r.body)
	require.Contains(t, r.body, "no such batch")
}

func TestCoverage(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	r := e.do(t, "GET", "/coverage?dataset=daily&year=2024", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, `id="coverage-form"`)
	r = e.do(t, "GET", "/coverage?dataset=nope&year=1800", nil)
	require.Equal(t, 200, r.status)

	// Selected days load exactly, scattered as they are, in one batch (07-02 is not
	// selected).
	r = e.do(t, "POST", "/coverage/sync", form("days", "2024-07-05", "days", "2024-07-01", "days", "2024-07-03",
		"days", "2024-07-04", "days", "2024-07-08"), htmx()...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, "Syncing the 5 selected trading days in one batch")
	ids := regexp.MustCompile(`/batches/(2024-07-01_2024-07-08_[0-9-]+)`).FindAllStringSubmatch(r.body, -1)
	require.Len(t, ids, 1, r.body)
	final := e.wait(t, ids[0][1])
	require.Equal(t, 5, final.Total)
	require.Equal(t, 5, final.TradingDays)
	var dates []string
	for _, d := range final.Days {
		dates = append(dates, d.Date)
	}
	require.Equal(t, []string{"2024-07-01", "2024-07-03", "2024-07-04", "2024-07-05", "2024-07-08"}, dates)

	// A day that does not trade, or is not published yet, starts nothing and says which.
	r = e.do(t, "POST", "/coverage/sync", form("days", "2024-07-09", "days", "2024-07-06"), htmx()...)
	require.Equal(t, 422, r.status, r.body)
	require.Contains(t, r.body, "Not trading days: 2024-07-06")
	if future, ok := nextTradingDay(t); ok {
		r = e.do(t, "POST", "/coverage/sync", form("days", future), htmx("Accept-Language", "zh-CN")...)
		require.Equal(t, 422, r.status, r.body)
		require.Contains(t, r.body, "尚未发布："+future)
	}

	r = e.do(t, "POST", "/coverage/sync", form(), htmx()...)
	require.Equal(t, 422, r.status)
	require.Contains(t, r.body, "select at least one day")
	r = e.do(t, "POST", "/coverage/sync", form("days", "July 1"), htmx()...)
	require.Equal(t, 422, r.status)
	require.Contains(t, r.body, "not a date in the form YYYY-MM-DD")
}

// nextTradingDay is the first trading day after today in the calendar, if it has one.
func nextTradingDay(t *testing.T) (string, bool) {
	t.Helper()
	cal, err := calendar.New()
	require.NoError(t, err)
	today := market.Today(time.Now())
	days, err := cal.TradingDays(today.AddDate(0, 0, 1), cal.Last())
	if err != nil || len(days) == 0 {
		return "", false
	}
	return days[0].Format(market.DateLayout), true
}

func TestLanguageSwitch(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	r := e.do(t, "GET", "/lang/zh?next=/batches%3Fpage%3D2", nil)
	require.Equal(t, 303, r.status)
	require.Equal(t, "/batches?page=2", r.header.Get("Location"))
	cookie := r.header.Get("Set-Cookie")
	require.Contains(t, cookie, "lang=zh")
	require.Contains(t, cookie, "max-age=31536000")
	require.Contains(t, cookie, "path=/")

	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""} {
		r = e.do(t, "GET", "/lang/en?next="+url.QueryEscape(next), nil)
		require.Equal(t, 303, r.status)
		require.Equal(t, "/", r.header.Get("Location"), next)
	}
	r = e.do(t, "GET", "/lang/klingon", nil)
	require.Contains(t, r.header.Get("Set-Cookie"), "lang=en")

	// A link can name the language: ?lang= wins over the cookie for that page.
	r = e.do(t, "GET", "/coverage?lang=zh", nil, "Cookie", "lang=en")
	require.Contains(t, r.body, `<html lang="zh-CN"`)
	r = e.do(t, "GET", "/coverage?lang=xx", nil, "Cookie", "lang=zh")
	require.Contains(t, r.body, `<html lang="zh-CN"`, "an unknown value changes nothing")
}

func TestBigBatchesAskFirst(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	big := form("start_date", "2021-01-04", "end_date", "2022-06-30", "datasets", "daily")
	r := e.do(t, "POST", "/batches", big, htmx()...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, `data-testid="confirm-big"`)
	require.Contains(t, r.body, "543 calendar days, 360 trading days to load", "what it would start")
	require.Contains(t, r.body, `name="confirmed" value="demo/2021-01-04/2022-06-30/daily"`)
	require.NotContains(t, r.body, "/batches/2021-01-04_2022-06-30_", "nothing started yet")

	// A confirmation of other values asks again; of these values, it starts.
	r = e.do(t, "POST", "/batches", form("start_date", "2021-01-04", "end_date", "2022-06-30", "datasets", "daily",
		"confirmed", "demo/2021-01-04/2021-12-31/daily"), htmx()...)
	require.Contains(t, r.body, `data-testid="confirm-big"`)
	r = e.do(t, "POST", "/batches", form("start_date", "2021-01-04", "end_date", "2022-06-30", "datasets", "daily",
		"confirmed", "demo/2021-01-04/2022-06-30/daily"), htmx()...)
	require.Equal(t, 200, r.status, r.body)
	id := regexp.MustCompile(`/batches/(2021-01-04_2022-06-30_[0-9-]+)`).FindStringSubmatch(r.body)
	require.NotNil(t, id, r.body)
	require.NoError(t, e.engine.Cancel(context.Background(), id[1], market.Actor{By: "test"}))

	// Over the cap: refused, saying so, in the viewer's language.
	r = e.do(t, "POST", "/batches", form("start_date", "1991-01-02", "end_date", "2025-06-30", "datasets", "daily",
		"confirmed", "demo/1991-01-02/2025-06-30/daily"), htmx("Accept-Language", "zh")...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, "单个批次最多 7,305 天")
	r = e.do(t, "POST", "/api/v1/sync-status/sync/batch", `{"start_date":"1991-01-02","end_date":"2025-06-30"}`)
	require.Equal(t, 422, r.status, r.body)
	require.Contains(t, r.json(t).Message, "batch too large")
}

func TestAPIStartsChosenDays(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	id := e.start(t, `{"days":["2023-03-08","2023-03-06","2023-03-10"],"force":true}`)
	final := e.wait(t, id)
	require.Equal(t, 3, final.Total)
	require.Equal(t, 3, final.Success)
	require.Equal(t, "2023-03-06", final.StartDate)

	r := e.do(t, "POST", "/api/v1/sync-status/sync/batch", `{"days":["2023-03-11"]}`)
	require.Equal(t, 422, r.status, r.body)
	require.Contains(t, r.json(t).Message, "not a trading day: 2023-03-11")
	r = e.do(t, "POST", "/api/v1/sync-status/sync/batch", `{"days":["2023-03-08"],"start_date":"2023-03-08"}`)
	require.Equal(t, 422, r.status, r.body)
}

func TestDashboardShowsABoundedList(t *testing.T) {
	t.Parallel()
	e := setup(t, options{latency: time.Second})
	for i := range 12 {
		day := []string{"2022-02-07", "2022-02-08", "2022-02-09", "2022-02-10", "2022-02-11", "2022-02-14",
			"2022-02-15", "2022-02-16", "2022-02-17", "2022-02-18", "2022-02-21", "2022-02-22"}[i]
		id := e.start(t, `{"start_date":"`+day+`","end_date":"`+day+`","force":true}`)
		require.NoError(t, e.engine.Pause(context.Background(), id, market.Actor{By: "test"}))
		t.Cleanup(func() { _ = e.engine.Cancel(context.Background(), id, market.Actor{By: "test"}) })
	}
	r := e.do(t, "GET", "/", nil)
	require.Equal(t, 200, r.status)
	require.Equal(t, 10, len(regexp.MustCompile(`<li id="active-`).FindAllString(r.body, -1)), "ten rows at most")
	require.Contains(t, r.body, `data-testid="more-active"`)
	require.Contains(t, r.body, `href="/batches?status=active"`)

	r = e.do(t, "GET", "/batches?status=active", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, "2022-02-07")
	require.Contains(t, r.body, `<option value="active" selected`)
}
