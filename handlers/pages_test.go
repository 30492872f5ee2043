package handlers_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

	// Selected days load exactly: one batch per run of consecutive trading days (07-05
	// and 07-08 are one run across the weekend; 07-02 is not selected).
	r = e.do(t, "POST", "/coverage/sync", form("days", "2024-07-05", "days", "2024-07-01", "days", "2024-07-03",
		"days", "2024-07-04", "days", "2024-07-08"), htmx()...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, "Syncing 5 selected days in 2 batches")
	for _, run := range []string{"2024-07-01_2024-07-01", "2024-07-03_2024-07-08"} {
		id := regexp.MustCompile(`/batches/(` + run + `_[0-9-]+)`).FindStringSubmatch(r.body)
		require.NotNil(t, id, r.body)
		e.wait(t, id[1])
	}

	r = e.do(t, "POST", "/coverage/sync", form(), htmx()...)
	require.Equal(t, 422, r.status)
	require.Contains(t, r.body, "select at least one day")
	r = e.do(t, "POST", "/coverage/sync", form("days", "July 1"), htmx()...)
	require.Equal(t, 422, r.status)
	require.Contains(t, r.body, "not a date in the form YYYY-MM-DD")
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
}
