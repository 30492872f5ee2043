package views

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/market"
)

// sample returns a running batch over start..end (weekends skipped, the first trading
// days done, one failed, one in flight) with status st.
func sample(t *testing.T, start, end string, st market.BatchStatus) *market.Snapshot {
	t.Helper()
	first, err := market.ParseDate(start)
	require.NoError(t, err)
	last, err := market.ParseDate(end)
	require.NoError(t, err)
	began := time.Date(2025, 10, 20, 1, 0, 0, 0, time.UTC)
	s := &market.Snapshot{
		TaskID: start + "_" + end + "_1760922000", Status: st, Datasets: []string{"daily"},
		StartDate: start, EndDate: end, Priority: 2, StartTime: &began, CreatedAt: began,
		CreatedBy: "web", CreatedFrom: "127.0.0.1", Message: "syncing",
	}
	i := 0
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		c := market.DayCell{Dataset: "daily", Date: d.Format(market.DateLayout), Status: market.DayPending}
		switch {
		case d.Weekday() == time.Saturday || d.Weekday() == time.Sunday:
			c.Status, c.Closed = market.DaySkipped, true
			s.Skipped++
			s.Closed++
		case i == 3:
			c.Status, c.Attempt = market.DayFailed, 3
			s.Failed++
			s.Errors = append(s.Errors, market.ErrorEntry{Dataset: "daily", Date: c.Date, Error: "upstream timeout <b>", Time: began.Add(time.Minute), Attempt: 3})
			s.RecentErrors = append(s.RecentErrors, market.ErrorRecord{Dataset: "daily", Date: c.Date, Message: "upstream timeout <b>", Time: began.Add(time.Minute), Attempt: 3, Final: true})
			s.ErrorCount++
		case i < 6:
			c.Status, c.Rows, c.Attempt = market.DaySucceeded, 5321, 1
			s.Success++
			s.RowsLoaded += 5321
		case i == 6:
			c.Status, c.Attempt = market.DayRunning, 1
			s.Running++
			s.InFlight = append(s.InFlight, market.InFlight{Dataset: "daily", Date: c.Date, StartedAt: began, Attempt: 1})
			s.CurrentDate = &c.Date
		default:
			s.Pending++
		}
		if c.Status != market.DaySkipped {
			i++
			s.TradingDays++
		}
		s.Days = append(s.Days, c)
		s.Total++
	}
	s.Current = s.Success + s.Failed + s.Skipped
	s.ProgressPercent = market.Percent(s.Success+s.Failed, s.TradingDays, st.Finished())
	s.RowsPerSecond = 1234.5
	eta := began.Add(15 * time.Minute)
	s.EstimatedCompletion = &eta
	if st.Finished() {
		end := began.Add(15*time.Minute + 30*time.Second)
		dur := end.Sub(began).Seconds()
		s.EndTime, s.DurationSeconds, s.EstimatedCompletion, s.InFlight = &end, &dur, nil, nil
	}
	return s
}

func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, c.Render(context.Background(), &b))
	return b.String()
}

func summary(s *market.Snapshot) market.BatchSummary {
	return market.BatchSummary{TaskID: s.TaskID, Status: s.Status, Datasets: s.Datasets,
		StartDate: s.StartDate, EndDate: s.EndDate, Total: s.Total, Success: s.Success,
		Failed: s.Failed, Skipped: s.Skipped, RowsLoaded: s.RowsLoaded, CreatedAt: s.CreatedAt,
		CreatedBy: s.CreatedBy, StartTime: s.StartTime, EndTime: s.EndTime}
}

func TestPages(t *testing.T) {
	t.Parallel()
	shanghai := time.FixedZone("CST", 8*3600)
	for _, lang := range Langs() {
		t.Run(string(lang), func(t *testing.T) {
			t.Parallel()
			loc := Locale{Lang: lang, Zone: shanghai, Path: "/batches?page=2", User: Viewer{Name: "alice", Role: market.RoleOperator, CSRF: "tok"}}
			run := sample(t, "2025-10-01", "2025-10-20", market.BatchRunning)
			long := sample(t, "2024-01-01", "2025-10-20", market.BatchRunning)
			done := sample(t, "2025-10-06", "2025-10-15", market.BatchCompleted)
			zh := lang == LangZH
			pick := func(en, zhs string) string {
				if zh {
					return zhs
				}
				return en
			}

			form := NewStartForm("2025-10-17")
			form.Errors = map[string]string{FieldEnd: "err.range"}
			ov := &market.Overview{Active: []market.BatchSummary{summary(run)}, ActiveTotal: 1, Recent: []market.BatchSummary{summary(done)}}
			html := render(t, DashboardPage(loc, DashboardData{Form: form, Overview: ov}))
			for _, want := range []string{`id="start-form"`, `hx-post="/batches"`, `ws-connect="/ws/dashboard"`,
				`id="active-batches"`, `value="2025-10-17"`, `name="datasets" value="daily" checked`,
				`hx-indicator="#start-spinner"`, T(lang, "err.range"), run.TaskID, done.TaskID,
				`href="/lang/zh?next=%2Fbatches%3Fpage%3D2"`, `/static/js/ws.js`, `/static/css/app.css`} {
				require.Contains(t, html, want)
			}

			html = render(t, BatchStarted(loc, NewStartForm("2025-10-17"), summary(run).TaskID, ov))
			require.Contains(t, html, `id="active-batches" class="card" aria-labelledby="active-title" hx-swap-oob="true"`)
			require.Contains(t, html, `id="active-`+run.TaskID+`"`)

			html = render(t, BatchPage(loc, run))
			for _, want := range []string{`ws-connect="/ws/batches/` + run.TaskID + `"`, `id="batch-progress"`,
				`id="batch-grid"`, `id="cell-daily-2025-10-09"`, `id="live-indicator"`, `hx-confirm=`,
				`hx-post="/batches/` + run.TaskID + `/cancel"`, `/pause"`, `/retry"`,
				`href="/batches/` + run.TaskID + `/errors"`, "upstream timeout &lt;b&gt;", "09:15", // ETA in Shanghai time
				pick("1,235 rows/s", "1,235 行/秒"), pick("Running", "运行中")} {
				require.Contains(t, html, want)
			}
			require.NotContains(t, html, "hx-swap-oob")

			html = render(t, BatchPage(loc, long))
			require.Contains(t, html, `class="grid-monthly"`)
			require.Contains(t, html, `id="cell-daily-2024-02-29"`)

			html = render(t, BatchPage(loc, done))
			require.Contains(t, html, pick("completed: 5 loaded, 0 already loaded, 1 failed in 15m30s",
				"批量同步完成: 成功5, 已有0, 失败1, 耗时15分30秒"))
			require.Contains(t, html, pick("Retry 1 failed", "重试 1 个失败日"))
			require.NotContains(t, html, `/cancel"`)

			changed := []market.DayCell{run.Days[8], run.Days[9]}
			html = render(t, BatchUpdate(loc, run, changed, false))
			for _, id := range []string{"batch-status", "batch-controls", "batch-progress", "batch-timing",
				"batch-inflight", "batch-errors", CellID("daily", run.Days[8].Date), CellID("daily", run.Days[9].Date)} {
				require.Contains(t, html, `id="`+id+`"`)
			}
			require.NotContains(t, html, `id="batch-grid"`)
			require.NotContains(t, html, `<html`)
			require.Equal(t, 8, strings.Count(html, `hx-swap-oob="true"`))

			html = render(t, BatchUpdate(loc, run, nil, true))
			require.Contains(t, html, `id="batch-grid" class="card mt-6" aria-labelledby="grid-title" hx-swap-oob="true"`)
			require.Equal(t, len(run.Days), strings.Count(html, `id="cell-daily-`))

			html = render(t, DashboardUpdate(loc, nil, &market.Overview{Active: []market.BatchSummary{summary(run)}, ActiveTotal: 1}))
			require.Contains(t, html, `id="active-batches"`)
			require.Contains(t, html, `hx-swap-oob="true"`)
			require.Contains(t, html, run.TaskID)

			items := make([]market.BatchSummary, 3)
			for i := range items {
				items[i] = summary(done)
			}
			html = render(t, HistoryPage(loc, HistoryData{Items: items, Total: 95, Page: 2, PageSize: 20,
				Filter: market.BatchFilter{Status: market.BatchCompleted}}))
			require.Contains(t, html, `href="/batches?page=3&amp;status=completed"`)
			require.Contains(t, html, `<option value="completed" selected`)
			require.Contains(t, html, pick("Completed · 1 failed", "已完成 · 1 天失败"))
			require.Contains(t, html, `ws-connect="/ws/history?page=2&amp;status=completed"`, "the page is live")
			require.Contains(t, html, `id="hist-`+done.TaskID+`"`)

			html = render(t, ErrorsPage(loc, ErrorsData{TaskID: run.TaskID, Total: 1, Page: 1, PageSize: 50,
				Items: []market.ErrorRecord{{Dataset: "daily", Date: "2025-10-06", Attempt: 2, Message: "boom", Time: *run.StartTime}}}))
			require.Contains(t, html, "boom")
			require.Contains(t, html, "2025-10-20 09:00:00")

			cov := market.Coverage{Dataset: "daily", Start: "2025-01-01", End: "2025-10-20", Loaded: 1, Missing: 1, FailedN: 1,
				Days: []market.CoverageDay{{Date: "2025-01-02", Status: "loaded", Rows: 5300}, {Date: "2025-01-03", Status: "missing"},
					{Date: "2025-01-06", Status: "failed"}}}
			html = render(t, CoveragePage(loc, CoverageData{Dataset: "daily", Year: 2025, Years: []int{2024, 2025}, Coverage: []market.Coverage{cov}}))
			for _, want := range []string{`hx-post="/coverage/sync"`, `name="days" value="2025-01-03"`, `name="days" value="2025-01-06"`,
				`href="/coverage?dataset=daily&amp;year=2024"`, "5,300", `id="coverage-sync-result"`} {
				require.Contains(t, html, want)
			}
			require.NotContains(t, html, `value="2025-01-02"`)

			html = render(t, CoverageSyncResult(loc, SyncResult{TaskIDs: []string{"x_y_1"}, Days: 3}))
			require.Contains(t, html, `href="/batches/x_y_1"`)

			require.Contains(t, render(t, NotFoundPage(loc, "")), "404")
			require.Contains(t, render(t, ErrorPage(loc, 500, "err.internal")), T(lang, "err.internal"))
			require.Contains(t, render(t, Flash(loc, FlashError, "err.not_found")), T(lang, "err.not_found"))
		})
	}
}

// TestEveryKeyExists reads every catalog key the pages and handlers name, literal or
// built from a state, and checks that the catalog has it: a missing key fails here
// instead of showing raw on a page.
func TestEveryKeyExists(t *testing.T) {
	t.Parallel()
	literal := regexp.MustCompile(`"((?:action|alert|alerts|batch|count|coverage|dashboard|day|err|errors|final|form|grid|history|lang|line|live|nav|notfound|error|origin|pager|priority|status|weekday|footer|month|stock)\.[a-z0-9_.]+)"`)
	var sources []string
	for _, glob := range []string{"*.templ", "*.go", "../handlers/*.go"} {
		files, err := filepath.Glob(glob)
		require.NoError(t, err)
		for _, f := range files {
			if strings.HasSuffix(f, "_templ.go") || strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			sources = append(sources, string(b))
		}
	}
	seen := 0
	for _, src := range sources {
		for _, m := range literal.FindAllStringSubmatch(src, -1) {
			seen++
			require.True(t, HasKey(m[1]), "the catalog has no key %q", m[1])
		}
	}
	require.Greater(t, seen, 100, "the scan found the pages' keys")
	for _, st := range market.BatchStatuses() {
		require.True(t, HasKey("status."+string(st)), st)
	}
	for _, a := range market.Adjusts() {
		require.True(t, HasKey("stock.adjust."+string(a)) && HasKey("stock.adjust_tip."+string(a)), a)
	}
	for _, m := range market.Metrics() {
		require.True(t, HasKey("stock.metric."+string(m)), m)
	}
	for _, st := range []string{"L", "D", "P"} {
		require.True(t, HasKey("stock.status."+st), st)
	}
	for _, st := range cellStates() {
		require.True(t, HasKey("day."+st), st)
	}
	for _, p := range prioritiesList() {
		require.True(t, HasKey("priority."+itoa(p)), p)
	}
	for w := time.Sunday; w <= time.Saturday; w++ {
		require.True(t, HasKey("weekday."+itoa(int(w))), w)
	}
	for _, f := range market.WebhookFormats() {
		require.True(t, HasKey(FormatKey(f)), f)
	}
	for _, ev := range market.AlertEvents() {
		require.True(t, HasKey(EventKey(ev)), ev)
	}
	for _, st := range []string{market.DeliveryOK, market.DeliveryRetrying, market.DeliveryFailed} {
		require.True(t, HasKey(DeliveryKey(st)), st)
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	en, zh := Locale{Lang: LangEN}, Locale{Lang: LangZH}
	d := 15*time.Minute + 30*time.Second
	require.Equal(t, "15m30s", en.Duration(d))
	require.Equal(t, "15分30秒", zh.Duration(d))
	require.Equal(t, "1h2m5s", en.Duration(time.Hour+2*time.Minute+5*time.Second))
	require.Equal(t, "1小时0分5秒", zh.Duration(time.Hour+5*time.Second))
	require.Equal(t, "0s", en.Duration(0))
	require.Equal(t, "1,234,567", en.Number(1234567))
	require.Equal(t, "-1,000", en.Number(-1000))
	require.Equal(t, "999", en.Number(999))
	require.Equal(t, "2025-10-20 09:00:00", en.DateTime(time.Date(2025, 10, 20, 1, 0, 0, 0, time.UTC)))
	require.Equal(t, "rows: 5", T(LangEN, "rows: %d", 5), "unknown keys pass through")
	for _, tc := range []struct {
		accept, cookie string
		want           Lang
	}{
		{"", "", LangEN},
		{"zh-CN,zh;q=0.9,en;q=0.8", "", LangZH},
		{"en-US,en;q=0.9,zh-CN;q=0.8", "", LangEN},
		{"fr-FR, zh-TW;q=0.5", "", LangZH},
		{"zh-CN", "en", LangEN},
		{"en", "zh", LangZH},
		{"de;q=1, en;q=0.1, zh;q=0.2", "bogus", LangZH},
	} {
		require.Equal(t, tc.want, ParseLang(tc.accept, tc.cookie), fmt.Sprintf("%q %q", tc.accept, tc.cookie))
	}
}

// TestSources checks what the pages say of sources: the header warns of synthetic
// data, the form offers a choice only when there is one, a batch names its source and a
// coverage cell says who loaded the day and what verifying it found.
func TestSources(t *testing.T) {
	t.Parallel()
	loc := Locale{Lang: LangEN, Zone: time.UTC, Synthetic: "demo", User: Viewer{Role: market.RoleOperator}}
	form := NewStartForm("2025-10-17")
	form.Sources = []market.SourceInfo{{Name: "tushare", Datasets: []string{"daily"}, Default: true}, {Name: "demo", Synthetic: true}}
	form.Source = "tushare"
	html := render(t, DashboardPage(loc, DashboardData{Form: form, Overview: &market.Overview{}}))
	require.Contains(t, html, `data-testid="synthetic-badge"`)
	require.Contains(t, html, `<select id="f-source" name="source"`)
	require.Contains(t, html, `<option value="tushare" selected`)
	require.Contains(t, html, "demo (synthetic data)")

	loc.Synthetic = ""
	form.Sources = form.Sources[:1]
	html = render(t, DashboardPage(loc, DashboardData{Form: form, Overview: &market.Overview{}}))
	require.NotContains(t, html, `synthetic-badge`)
	require.NotContains(t, html, `<select id="f-source"`)
	require.Contains(t, html, `<input type="hidden" name="source" value="tushare">`)

	run := sample(t, "2025-10-01", "2025-10-20", market.BatchRunning)
	run.Source = "tushare"
	require.Contains(t, render(t, BatchPage(loc, run)), "source: tushare")

	// A range source's batch shows its fetch first, and what the source lacks.
	run.Source, run.Stage = "baostock", &market.StageProgress{StocksTotal: 5200, StocksFetched: 1234}
	run.Notes = []market.Note{{Key: "note.baostock_no_bj", Text: "x"}}
	html = render(t, BatchPage(loc, run))
	require.Contains(t, html, `data-testid="stage"`)
	require.Contains(t, html, "1,234 of 5,200 stocks")
	require.Contains(t, html, "fetching stocks: 1234 of 5200 (23.7%)")
	require.Contains(t, html, "Baostock has no Beijing Stock Exchange stocks")
	zh := loc
	zh.Lang = LangZH
	require.Contains(t, render(t, BatchPage(zh, run)), "1,234 / 5,200 只股票")

	cov := market.Coverage{Dataset: "daily", Start: "2025-01-01", End: "2025-01-31", Loaded: 2,
		Days: []market.CoverageDay{{Date: "2025-01-02", Status: "loaded", Rows: 5300, Source: "tushare", Verified: "ok"},
			{Date: "2025-01-03", Status: "loaded", Rows: 5300, Source: "tushare", Verified: "differs"}}}
	html = render(t, CoveragePage(loc, CoverageData{Dataset: "daily", Year: 2025, Years: []int{2025}, Coverage: []market.Coverage{cov}}))
	require.Contains(t, html, "source: tushare · verified: matches the source")
	require.Contains(t, html, "verified: differs from the source")
	require.Contains(t, html, "cov-differs")
}
