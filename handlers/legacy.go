package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/marketsync/marketsync/internal/catalog"
	"github.com/marketsync/marketsync/internal/market"
)

// The old system's own front end (StockGuru's sync-status page) calls these paths and
// reads their answers in the old shapes, with the old system's Chinese messages: the
// start (apiStart), a task's progress, the task its banner shows, and the per-day sync
// records. Every other path of the API is marketsync's own and speaks English.

// legacyPath reports whether path is one of the old system's paths, whose messages
// are in Chinese.
func legacyPath(path string) bool {
	path = strings.TrimSuffix(path, "/")
	switch path {
	case "/api/v1/sync-status/sync/batch", "/api/v1/sync-status/sync/batch/active", "/api/v1/sync-status/list":
		return true
	}
	return strings.HasPrefix(path, "/api/v1/sync-status/sync/batch/progress/")
}

// legacyActive answers the task the old page's "background sync" banner shows: data
// null when no batch is unfinished, else {task_id, progress} of the one the old system
// would have run (market.PickLegacyTask).
func (s *server) legacyActive(c *fiber.Ctx) error {
	items, err := s.batches.Active(c.UserContext())
	if err != nil {
		return err
	}
	id, found := market.PickLegacyTask(items)
	if !found {
		return ok(c, fiber.StatusOK, nil)
	}
	snap, err := s.batches.Snapshot(c.UserContext(), id)
	if errors.Is(err, market.ErrNotFound) {
		return ok(c, fiber.StatusOK, nil)
	}
	if err != nil {
		return err
	}
	snap.Message = catalog.BatchLine(catalog.ZH, snap) // the old API spoke Chinese
	task := market.NewLegacyTask(snap)
	return ok(c, fiber.StatusOK, task.In(s.zone))
}

// legacyProgress answers a batch's snapshot, its message in the old Chinese words and
// its errors in the order they happened, as the old API did.
func (s *server) legacyProgress(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	snap, err := s.batches.Snapshot(c.UserContext(), id)
	if err != nil {
		return batchErr(id, err)
	}
	snap.Message = catalog.BatchLine(catalog.ZH, snap)
	snap.Errors = market.LegacyErrors(snap.Errors)
	return ok(c, fiber.StatusOK, snap.In(s.zone))
}

// legacyList answers the old records table: one record per trading day of the daily
// dataset, newest first, paged, with the stats of every record the filter matches.
func (s *server) legacyList(c *fiber.Ctx) error {
	f, err := syncFilter(c)
	if err != nil {
		return err
	}
	page, err := s.batches.SyncRecords(c.UserContext(), f)
	if err != nil {
		return err
	}
	return ok(c, fiber.StatusOK, page.In(s.zone))
}

// maxSyncPage bounds ?page= so that the offset stays far from overflowing.
const maxSyncPage = 10_000_000

// syncFilter reads /list's ?page=&page_size=&start_date=&end_date=&status=, with the
// old API's defaults (page 1, 50 a page); a bad value is a 400 in Chinese.
func syncFilter(c *fiber.Ctx) (market.SyncFilter, error) {
	f := market.SyncFilter{Page: 1, PageSize: 50}
	var err error
	if f.Page, err = queryInt(c, "page", 1, 1, maxSyncPage); err != nil {
		return f, err
	}
	if f.PageSize, err = queryInt(c, "page_size", 50, 1, 100); err != nil {
		return f, err
	}
	if f.Start, err = queryDate(c, "start_date"); err != nil {
		return f, err
	}
	if f.End, err = queryDate(c, "end_date"); err != nil {
		return f, err
	}
	if f.Status, err = market.ParseSyncStatus(c.Query("status")); err != nil {
		return f, &zhBadRequest{fmt.Sprintf("status 必须是 %s 之一（收到 %q）", joinStatuses(), clip(c.Query("status")))}
	}
	return f, nil
}

// queryInt reads an integer query parameter between lo and hi, def when absent.
func queryInt(c *fiber.Ctx, name string, def, lo, hi int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &zhBadRequest{fmt.Sprintf("%s 必须是 %d 到 %d 之间的整数（收到 %q）", name, lo, hi, clip(v))}
	}
	return n, nil
}

// queryDate reads an optional date query parameter; absent is the zero time.
func queryDate(c *fiber.Ctx, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	d, err := market.ParseDate(v)
	if err != nil {
		return time.Time{}, &zhBadRequest{fmt.Sprintf("%s 日期格式错误，应为 YYYY-MM-DD（收到 %q）", name, clip(v))}
	}
	return d, nil
}

func joinStatuses() string {
	var names []string
	for _, st := range market.SyncStatuses() {
		names = append(names, string(st))
	}
	return strings.Join(names, "、")
}

// zhBadRequest is a 400 of the old paths whose message is written in Chinese already.
type zhBadRequest struct{ msg string }

func (e *zhBadRequest) Error() string { return e.msg }
func (e *zhBadRequest) Unwrap() error { return badRequest(e.msg) }

// legacyErrorMessage is what an old path answers for err: what went wrong in Chinese,
// as the old system said it, followed by the precise detail (the field, the value) in
// parentheses. status and msg are classify's.
func legacyErrorMessage(status int, err error, msg string) string {
	var zh *zhBadRequest
	if errors.As(err, &zh) {
		return zh.msg
	}
	return legacySummary(status, err) + "（" + msg + "）"
}

// legacySummary says in Chinese what kind of error err is.
func legacySummary(status int, err error) string {
	var cs *crossSiteError
	switch {
	case errors.Is(err, market.ErrNotFound):
		return "任务不存在或已过期"
	case errors.Is(err, market.ErrInvalidDate):
		return "日期格式错误，应为 YYYY-MM-DD"
	case errors.Is(err, market.ErrInvalidRange):
		return "开始日期不能晚于结束日期"
	case errors.Is(err, market.ErrOutsideCalendar):
		return "日期超出交易日历的范围"
	case errors.Is(err, market.ErrUnknownDataset):
		return "未知的数据集"
	case errors.Is(err, market.ErrConflict):
		return "任务当前的状态不允许此操作"
	case market.IsInputError(err):
		return "参数无效"
	case errors.As(err, &cs):
		return "拒绝来自其他站点的请求"
	}
	switch status {
	case http.StatusBadRequest:
		return "请求格式错误"
	case http.StatusNotFound:
		return "接口不存在"
	case http.StatusUnsupportedMediaType:
		return "请求体必须是 JSON"
	case http.StatusRequestEntityTooLarge:
		return "请求体过大"
	case http.StatusServiceUnavailable:
		return "数据库暂时不可用，请稍后再试"
	}
	if status >= 500 {
		return "服务器内部错误"
	}
	return "请求失败"
}
