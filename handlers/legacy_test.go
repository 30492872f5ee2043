package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/app"
	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/source/demo"
)

// The old system's sync-status page (StockGuru's Next.js front end) runs on a port of its
// own and calls the API from there; these tests repeat its calls with the headers
// Chromium sends, as recorded from the page itself.

const (
	pageOrigin = "http://localhost:3000"
	startPath  = "/api/v1/sync-status/sync/batch"
	activePath = "/api/v1/sync-status/sync/batch/active"
	listPath   = "/api/v1/sync-status/list"
)

// pageHeaders are the headers of the old page's fetches from origin: cross-site, mode
// cors, no credentials.
func pageHeaders(origin string) []string {
	return []string{"Origin", origin, "Referer", origin + "/sync-status", "Sec-Fetch-Site", "cross-site",
		"Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Accept", "*/*"}
}

// preflightHeaders are those of the preflight Chromium sends before the page's POST.
func preflightHeaders(origin string) []string {
	return []string{"Origin", origin, "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type", "Sec-Fetch-Mode", "cors", "Accept", "*/*"}
}

// requireCORS checks that r may be read by a page of origin.
func requireCORS(t *testing.T, r response, origin, what string) {
	t.Helper()
	require.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"), "%s: %d %s", what, r.status, r.body)
	require.Contains(t, strings.Join(r.header.Values("Vary"), ","), "Origin", what)
}

// sideEngine runs another engine on e's database, working a queue of its own with src;
// with parallelism -1 it runs no workers, so the batches it starts wait, queued.
func (e *env) sideEngine(t *testing.T, src engine.Source, parallelism int) *engine.Engine {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	eng, err := engine.New(ctx, e.pool, src, e.engine.Calendar(), &engine.Config{
		Queue:        fmt.Sprintf("side_%d", e.sides.Add(1)),
		Parallelism:  parallelism,
		MaxAttempts:  2,
		RetryBackoff: 10 * time.Millisecond,
		Logger:       slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return eng
}

// startOn starts a batch of every day from start to end on eng and returns its task id.
func startOn(t *testing.T, eng *engine.Engine, start, end string, force bool) string {
	t.Helper()
	s, err := market.ParseDate(start)
	require.NoError(t, err)
	en, err := market.ParseDate(end)
	require.NoError(t, err)
	snap, err := eng.Start(context.Background(), market.Spec{Start: s, End: en, Force: force})
	require.NoError(t, err)
	return snap.TaskID
}

// cancelAtEnd cancels the batch when the test ends, unless it is finished by then.
func (e *env) cancelAtEnd(t *testing.T, id string) {
	t.Cleanup(func() {
		_ = e.engine.Cancel(context.Background(), id, market.Actor{By: "test"})
	})
}

// list asks /list with query and decodes the page.
func (e *env) list(t *testing.T, query string) market.SyncPage {
	t.Helper()
	r := e.do(t, "GET", listPath+"?"+query, nil, pageHeaders(pageOrigin)...)
	require.Equal(t, 200, r.status, r.body)
	var raw struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &raw))
	require.True(t, strings.HasPrefix(string(raw.Data["records"]), "["), "records must be a list: %s", r.body)
	require.Contains(t, raw.Data, "stats")
	var p market.SyncPage
	require.NoError(t, json.Unmarshal(r.json(t).Data, &p))
	return p
}

// active asks the old /active and returns its raw data ("null" or an object).
func (e *env) active(t *testing.T) (string, market.LegacyTask) {
	t.Helper()
	r := e.do(t, "GET", activePath, nil, pageHeaders(pageOrigin)...)
	require.Equal(t, 200, r.status, r.body)
	requireCORS(t, r, pageOrigin, "active")
	data := string(r.json(t).Data)
	var task market.LegacyTask
	if data != "null" {
		require.NoError(t, json.Unmarshal([]byte(data), &task))
	}
	return data, task
}

// TestOldPageCallsFromItsOrigin makes the old page's five calls, in its order and with its
// headers, and checks that each answers in the old shape and may be read by the page.
func TestOldPageCallsFromItsOrigin(t *testing.T) {
	t.Parallel()
	e := setup(t, options{latency: 300 * time.Millisecond,
		cors: []string{"http://localhost:3000", "http://127.0.0.1:3000"}})

	// On load: the records table and the banner. Nothing yet: an empty table, no banner.
	page := e.list(t, "page=1&page_size=50")
	require.Empty(t, page.Records)
	require.Equal(t, market.SyncPage{Records: []market.SyncRecord{}, Page: 1, PageSize: 50}, page)
	data, _ := e.active(t)
	require.Equal(t, "null", data)

	// Start: the preflight, then the POST with only the two dates.
	r := e.do(t, "OPTIONS", startPath, nil, preflightHeaders(pageOrigin)...)
	require.Equal(t, 204, r.status, r.body)
	requireCORS(t, r, pageOrigin, "preflight")
	require.Contains(t, r.header.Get("Access-Control-Allow-Methods"), "POST")
	require.Contains(t, strings.ToLower(r.header.Get("Access-Control-Allow-Headers")), "content-type")
	r = e.do(t, "POST", startPath, `{"start_date":"2012-06-01","end_date":"2012-06-08"}`, pageHeaders(pageOrigin)...)
	require.Equal(t, 200, r.status, r.body)
	requireCORS(t, r, pageOrigin, "start")
	var started struct {
		TaskID    string `json:"task_id"`
		TotalDays int    `json:"total_days"`
		Message   string `json:"message"`
	}
	require.NoError(t, json.Unmarshal(r.json(t).Data, &started))
	require.Equal(t, 8, started.TotalDays)
	require.Equal(t, "批量同步任务已启动，将同步 8 天的数据", started.Message)

	// The banner shows the running batch: its range as start_time/end_time.
	deadline := time.Now().Add(30 * time.Second)
	var task market.LegacyTask
	for {
		data, task = e.active(t)
		if data != "null" && task.Progress.Status == market.BatchRunning && task.Progress.TaskStartTime != nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "no running task in the banner: %s", data)
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, started.TaskID, task.TaskID)
	p := task.Progress
	require.Equal(t, "2012-06-01", p.StartTime)
	require.Equal(t, "2012-06-08", p.EndTime)
	require.Equal(t, 8, p.Total)
	require.Equal(t, "+08:00", p.TaskStartTime.Format("-07:00"))
	require.Regexp(t, `^正在同步 (2012-06-\d\d)?\.\.\. \(\d+\.\d%\)$|^正在同步\.\.\.`, p.Message)
	require.NotNil(t, p.Errors)
	var raw struct {
		Progress map[string]any `json:"progress"`
	}
	require.NoError(t, json.Unmarshal(e.do(t, "GET", activePath, nil).json(t).Data, &raw))
	for _, f := range []string{"status", "total", "current", "success", "failed", "skipped", "current_date", "message",
		"progress_percent", "start_time", "end_time", "task_start_time", "duration_seconds", "estimated_completion", "errors"} {
		require.Contains(t, raw.Progress, f)
	}

	// The page polls the progress until completed, then reloads the table.
	var snap market.Snapshot
	for {
		r = e.do(t, "GET", "/api/v1/sync-status/sync/batch/progress/"+started.TaskID, nil, pageHeaders(pageOrigin)...)
		require.Equal(t, 200, r.status, r.body)
		requireCORS(t, r, pageOrigin, "progress")
		require.NoError(t, json.Unmarshal(r.json(t).Data, &snap))
		if snap.Status.Finished() {
			break
		}
		require.True(t, time.Now().Before(deadline), "batch still %s", snap.Status)
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(t, market.BatchCompleted, snap.Status)
	require.Regexp(t, `^批量同步完成: 成功6, 已有0, 失败0, 耗时(\d+分)?\d+秒$`, snap.Message)
	data, _ = e.active(t)
	require.Equal(t, "null", data)

	page = e.list(t, "page=1&page_size=50")
	require.Equal(t, market.SyncStats{Total: 6, Success: 6}, page.Stats)
	require.Equal(t, 1, page.TotalPages)
	require.Len(t, page.Records, 6)
	for i, rec := range page.Records {
		day := []string{"2012-06-08", "2012-06-07", "2012-06-06", "2012-06-05", "2012-06-04", "2012-06-01"}[i]
		require.Equal(t, day, rec.SyncDate)
		require.Equal(t, market.SyncSuccess, rec.Status)
		require.Equal(t, market.SyncRecordID(mustDate(t, day)), rec.ID)
		require.Positive(t, rec.TotalRecords)
		require.Equal(t, rec.TotalRecords, rec.SuccessCount)
		require.Equal(t, fmt.Sprintf("同步完成: 入库%d条", rec.TotalRecords), rec.Remarks)
		require.NotNil(t, rec.StartTime)
		require.Equal(t, "+08:00", rec.EndTime.Format("-07:00"))
		require.NotNil(t, rec.DurationSeconds)
		require.Nil(t, rec.ErrorMessage)
	}

	// The same page opened as http://127.0.0.1:3000 is another origin, trusted as well.
	r = e.do(t, "GET", listPath+"?page=1&page_size=50", nil, pageHeaders("http://127.0.0.1:3000")...)
	requireCORS(t, r, "http://127.0.0.1:3000", "list from 127.0.0.1")
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := market.ParseDate(s)
	require.NoError(t, err)
	return d
}

// TestOldActiveShowsTheOldTask checks which unfinished batch the old banner shows: none,
// then the newest waiting one, then the running one that started first.
func TestOldActiveShowsTheOldTask(t *testing.T) {
	t.Parallel()
	e := setup(t, options{cors: []string{pageOrigin}})
	idle := e.sideEngine(t, demo.New(e.engine.Calendar(), demo.Config{}), -1)
	slow := e.sideEngine(t, demo.New(e.engine.Calendar(), demo.Config{Latency: 5 * time.Second}), 2)
	data, _ := e.active(t)
	require.Equal(t, "null", data)

	q1 := startOn(t, idle, "2012-07-02", "2012-07-06", false)
	q2 := startOn(t, idle, "2012-07-09", "2012-07-13", false)
	_, task := e.active(t)
	require.Equal(t, q2, task.TaskID)
	require.Equal(t, market.BatchQueued, task.Progress.Status)
	require.Equal(t, "排队中: 5 天等待同步", task.Progress.Message)
	require.Nil(t, task.Progress.TaskStartTime)
	require.Equal(t, "2012-07-09", task.Progress.StartTime)
	require.NoError(t, e.engine.Pause(context.Background(), q2, market.Actor{By: "test"}))
	_, task = e.active(t)
	require.Equal(t, q2, task.TaskID)
	require.Equal(t, "已暂停: 已完成 0.0%", task.Progress.Message)

	r1 := startOn(t, slow, "2012-07-16", "2012-07-16", true)
	e.cancelAtEnd(t, r1)
	waitRunning(t, e, r1)
	r2 := startOn(t, slow, "2012-07-17", "2012-07-17", true)
	e.cancelAtEnd(t, r2)
	waitRunning(t, e, r2)
	_, task = e.active(t)
	require.Equal(t, r1, task.TaskID, "the running batch that started first")
	require.Equal(t, "正在同步 2012-07-16... (0.0%)", task.Progress.Message)

	// Our own list has every unfinished batch.
	r := e.do(t, "GET", "/api/v1/batches/active", nil)
	require.Equal(t, 200, r.status, r.body)
	var ours []market.BatchSummary
	require.NoError(t, json.Unmarshal(r.json(t).Data, &ours))
	var ids []string
	for _, b := range ours {
		ids = append(ids, b.TaskID)
	}
	require.ElementsMatch(t, []string{q1, q2, r1, r2}, ids)

	// Once everything is finished, no banner.
	for _, id := range []string{q1, q2, r1, r2} {
		require.NoError(t, e.engine.Cancel(context.Background(), id, market.Actor{By: "test"}))
	}
	for _, id := range []string{q1, q2, r1, r2} {
		require.Equal(t, market.BatchCancelled, e.wait(t, id).Status)
	}
	data, _ = e.active(t)
	require.Equal(t, "null", data)
	r = e.do(t, "GET", "/api/v1/sync-status/sync/batch/progress/"+r1, nil)
	require.Regexp(t, `^批量同步已取消: 成功0, 已有0, 失败0, 未同步1, 耗时(\d+分)?\d+秒$`, snapMessage(t, r))
}

// snapMessage is the message of a progress answer.
func snapMessage(t *testing.T, r response) string {
	t.Helper()
	var s market.Snapshot
	require.NoError(t, json.Unmarshal(r.json(t).Data, &s))
	return s.Message
}

// waitRunning waits until one of the batch's days is running.
func waitRunning(t *testing.T, e *env, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		snap, err := e.engine.Snapshot(context.Background(), id)
		require.NoError(t, err)
		if snap.Running > 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "batch %s never ran a day", id)
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOldListReachesEveryStatus makes days of each record state (each part on dates of
// its own) and reads them through /list with the page's parameters and filters.
func TestOldListReachesEveryStatus(t *testing.T) {
	t.Parallel()
	e := setup(t, options{cors: []string{pageOrigin}})
	cal := e.engine.Calendar()

	t.Run("success", func(t *testing.T) {
		t.Parallel()
		id := e.start(t, `{"start_date":"2013-03-04","end_date":"2013-03-10","force":true}`)
		e.wait(t, id)
		p := e.list(t, "page=1&page_size=50&start_date=2013-03-04&end_date=2013-03-10")
		require.Equal(t, market.SyncStats{Total: 5, Success: 5}, p.Stats)
		require.Equal(t, "2013-03-08", p.Records[0].SyncDate) // newest first; the weekend has none
		// Paging: two a page.
		p = e.list(t, "page=3&page_size=2&start_date=2013-03-04&end_date=2013-03-10")
		require.Equal(t, 5, p.Total)
		require.Equal(t, 3, p.TotalPages)
		require.Len(t, p.Records, 1)
		require.Equal(t, "2013-03-04", p.Records[0].SyncDate)
		p = e.list(t, "page=4&page_size=2&start_date=2013-03-04&end_date=2013-03-10")
		require.Empty(t, p.Records)
		require.Equal(t, 5, p.Stats.Success)
		p = e.list(t, "start_date=2013-03-04&end_date=2013-03-10&status=failed")
		require.Equal(t, market.SyncStats{}, p.Stats)
		require.Equal(t, 0, p.TotalPages)
	})

	t.Run("failed", func(t *testing.T) {
		t.Parallel()
		failing := e.sideEngine(t, demo.New(cal, demo.Config{FailRate: 1}), 2)
		id := startOn(t, failing, "2013-04-08", "2013-04-09", true)
		require.Equal(t, 2, e.wait(t, id).Failed)
		p := e.list(t, "start_date=2013-04-08&end_date=2013-04-09&status=failed")
		require.Equal(t, market.SyncStats{Total: 2, Failed: 2}, p.Stats)
		for _, r := range p.Records {
			require.Equal(t, market.SyncFailed, r.Status)
			require.Equal(t, 1, r.FailedCount)
			require.Zero(t, r.TotalRecords)
			require.NotNil(t, r.ErrorMessage)
			require.Equal(t, "同步失败: "+*r.ErrorMessage, r.Remarks)
			require.NotNil(t, r.EndTime)
		}
	})

	t.Run("pending then skipped", func(t *testing.T) {
		t.Parallel()
		idle := e.sideEngine(t, demo.New(cal, demo.Config{}), -1)
		id := startOn(t, idle, "2013-05-06", "2013-05-08", false)
		e.cancelAtEnd(t, id)
		p := e.list(t, "start_date=2013-05-06&end_date=2013-05-08&status=pending")
		require.Equal(t, market.SyncStats{Total: 3}, p.Stats) // no pending count, as the old stats
		require.Len(t, p.Records, 3)
		for _, r := range p.Records {
			require.Equal(t, "等待同步", r.Remarks)
			require.Nil(t, r.StartTime)
		}
		require.NoError(t, e.engine.Cancel(context.Background(), id, market.Actor{By: "test"}))
		p = e.list(t, "start_date=2013-05-06&end_date=2013-05-08")
		require.Equal(t, market.SyncStats{Total: 3, Skipped: 3}, p.Stats)
		for _, r := range p.Records {
			require.Equal(t, market.SyncSkipped, r.Status)
			require.Equal(t, "已取消", r.Remarks)
			require.NotNil(t, r.EndTime)
		}
	})

	t.Run("syncing", func(t *testing.T) {
		t.Parallel()
		slow := e.sideEngine(t, demo.New(cal, demo.Config{Latency: 5 * time.Second}), 1)
		id := startOn(t, slow, "2013-06-03", "2013-06-04", true)
		e.cancelAtEnd(t, id)
		deadline := time.Now().Add(30 * time.Second)
		for {
			p := e.list(t, "start_date=2013-06-03&end_date=2013-06-04&status=syncing")
			if p.Total == 1 {
				r := p.Records[0]
				require.Equal(t, "同步中", r.Remarks)
				require.NotNil(t, r.StartTime)
				require.Nil(t, r.EndTime)
				require.Nil(t, r.DurationSeconds)
				break
			}
			require.True(t, time.Now().Before(deadline), "no day syncing")
			time.Sleep(20 * time.Millisecond)
		}
		// The other day waits its turn.
		p := e.list(t, "start_date=2013-06-03&end_date=2013-06-04")
		require.Equal(t, 2, p.Total)
		require.Equal(t, 1, p.Stats.Syncing)
	})
}

// TestOldListRefusesBadParameters answers 400 with a Chinese message naming the
// parameter, readable by the page.
func TestOldListRefusesBadParameters(t *testing.T) {
	t.Parallel()
	e := setup(t, options{cors: []string{pageOrigin}})
	for query, want := range map[string]string{
		"page=0":                "page 必须是 1 到 10000000 之间的整数",
		"page=abc":              "page 必须是",
		"page_size=0":           "page_size 必须是 1 到 100 之间的整数",
		"page_size=101":         "page_size 必须是 1 到 100 之间的整数",
		"start_date=2013-02-30": "start_date 日期格式错误，应为 YYYY-MM-DD",
		"end_date=20130301":     "end_date 日期格式错误",
		"status=done":           "status 必须是 success、failed、syncing、skipped、pending 之一",
	} {
		r := e.do(t, "GET", listPath+"?"+query, nil, pageHeaders(pageOrigin)...)
		require.Equal(t, 400, r.status, "%s: %s", query, r.body)
		requireCORS(t, r, pageOrigin, query)
		env := r.json(t)
		require.Equal(t, "error", env.Status)
		require.Contains(t, env.Message, want, query)
	}
}

// TestOldPathsSpeakChinese checks the messages of the old paths, and that our own paths
// keep English.
func TestOldPathsSpeakChinese(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/api/v1/sync-status/sync/batch/progress/2013-01-01_2013-01-02_1", "", 404, "任务不存在或已过期"},
		{"GET", "/api/v1/sync-status/sync/batch/progress/a%00b", "", 400, "请求格式错误"},
		{"POST", startPath, `{"start_date":"2013-13-01","end_date":"2013-01-02"}`, 422, "日期格式错误，应为 YYYY-MM-DD"},
		{"POST", startPath, `{"start_date":"2013-01-09","end_date":"2013-01-02"}`, 422, "开始日期不能晚于结束日期"},
		{"POST", startPath, `{"start_date":`, 400, "请求格式错误"},
		{"POST", startPath, `{"start_date":"2013-01-02","end_date":"2013-01-02","priority":9}`, 422, "参数无效"},
	} {
		var body any
		if c.method == "POST" {
			body = c.body
		}
		r := e.do(t, c.method, c.path, body)
		require.Equal(t, c.status, r.status, "%s: %s", c.path, r.body)
		require.True(t, strings.HasPrefix(r.json(t).Message, c.want), "%s %s: %s", c.path, c.body, r.body)
	}
	for _, path := range []string{"/api/v1/sync-status/sync/batch/nope/errors", "/api/v1/nope", "/api/v1/sync-status/sync/batches?limit=ten"} {
		r := e.do(t, "GET", path, nil)
		require.False(t, regexp.MustCompile(`\p{Han}`).MatchString(r.body), "%s: %s", path, r.body)
	}

	id := e.start(t, `{"start_date":"2013-01-05","end_date":"2013-01-06"}`) // a weekend
	e.wait(t, id)
	r := e.do(t, "GET", "/api/v1/sync-status/sync/batch/progress/"+id, nil)
	require.Regexp(t, `^批量同步完成: 成功0, 已有0, 失败0, 耗时\d+秒$`, snapMessage(t, r))
}

// TestCORSForTheTrustedOrigins checks the API's answers to pages of the trusted origins,
// errors included, and to other sites.
func TestCORSForTheTrustedOrigins(t *testing.T) {
	t.Parallel()
	e := setup(t, options{cors: []string{pageOrigin}})
	h := pageHeaders(pageOrigin)
	for _, c := range []struct {
		name, method, path, body, ctype string
		status                          int
	}{
		{"list", "GET", listPath, "", "", 200},
		{"our own list", "GET", "/api/v1/sync-status/sync/batches?limit=1", "", "", 200},
		{"bad page", "GET", listPath + "?page=0", "", "", 400},
		{"bad date", "POST", startPath, `{"start_date":"2013-13-01","end_date":"2013-01-02"}`, "application/json", 422},
		{"unknown task", "GET", "/api/v1/sync-status/sync/batch/progress/nope", "", "", 404},
		{"unknown path", "GET", "/api/v1/nope", "", "", 404},
		{"not JSON", "POST", startPath, `{"start_date":"2013-01-02","end_date":"2013-01-02"}`, "text/plain", 415},
	} {
		r := e.doHeaders(t, c.method, c.path, c.body, c.ctype, h...)
		require.Equal(t, c.status, r.status, "%s: %s", c.name, r.body)
		requireCORS(t, r, pageOrigin, c.name)
	}
	// A body too large is refused by the server before any route, as soon as it reads
	// the request's head: through a socket, sending only the head.
	conn, err := net.Dial("tcp", e.listen(t))
	require.NoError(t, err)
	defer conn.Close()
	head := "POST " + startPath + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n"
	for i := 0; i+1 < len(h); i += 2 {
		head += h[i] + ": " + h[i+1] + "\r\n"
	}
	_, err = conn.Write([]byte(head + "\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 413, resp.StatusCode, string(body))
	requireCORS(t, response{status: resp.StatusCode, header: resp.Header, body: string(body)}, pageOrigin, "too large")
	require.Contains(t, string(body), "请求体过大")

	// Another site: no CORS grant, and its POST is refused.
	evil := pageHeaders("http://evil.example")
	r := e.do(t, "OPTIONS", startPath, nil, preflightHeaders("http://evil.example")...)
	require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
	r = e.do(t, "GET", listPath, nil, evil...)
	require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
	r = e.do(t, "POST", startPath, `{"start_date":"2013-01-12","end_date":"2013-01-13"}`, evil...)
	require.Equal(t, 403, r.status, r.body)
	require.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, r.json(t).Message, "拒绝来自其他站点的请求")
	all := e.do(t, "GET", "/api/v1/sync-status/sync/batches?limit=1000", nil)
	require.NotContains(t, all.body, `"2013-01-12_2013-01-13_`)

	// The trusted origin's POST passes the same-origin check.
	r = e.do(t, "POST", startPath, `{"start_date":"2013-01-19","end_date":"2013-01-20"}`, h...)
	require.Equal(t, 200, r.status, r.body)
	requireCORS(t, r, pageOrigin, "start")
}

// doHeaders sends body with content type ctype ("" sends none) and the headers.
func (e *env) doHeaders(t *testing.T, method, path, body, ctype string, header ...string) response {
	t.Helper()
	if ctype == "" && body == "" {
		return e.do(t, method, path, nil, header...)
	}
	return e.do(t, method, path, body, append(header, "Content-Type", ctype)...)
}

// TestCORSOnOutage checks that the old paths' 503s, while PostgreSQL is down, still
// reach the trusted page, in Chinese.
func TestCORSOnOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proxy := pgtest.NewProxy(t, pgtest.NewDB(t))
	pool, err := pgxpool.New(ctx, proxy.URL())
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	proxy.Down()
	a, err := app.New(ctx, &app.Config{Pool: pool, Auth: auth.Config{Anonymous: market.RoleOperator}, Engine: engine.Config{Parallelism: -1}, CORSOrigins: []string{pageOrigin}})
	require.NoError(t, err)
	t.Cleanup(a.Hub.Shutdown)
	e := &env{app: a.HTTP}
	for _, path := range []string{listPath, activePath, "/api/v1/sync-status/sync/batch/progress/x"} {
		r := e.do(t, "GET", path, nil, pageHeaders(pageOrigin)...)
		require.Equal(t, 503, r.status, "%s: %s", path, r.body)
		requireCORS(t, r, pageOrigin, path)
		require.True(t, strings.HasPrefix(r.json(t).Message, "数据库暂时不可用"), r.body)
	}
	r := e.do(t, "POST", startPath, `{"start_date":"2013-01-02","end_date":"2013-01-02"}`, pageHeaders(pageOrigin)...)
	require.Equal(t, 503, r.status, r.body)
	requireCORS(t, r, pageOrigin, "start")
}
