package views

// text is one catalog entry in both languages; zh may be empty to fall back to English.
type text struct{ en, zh string }

// catalog holds every visible string of the web pages, keyed by dotted names. Values are
// fmt formats where the caller passes arguments. It is read-only.
var catalog = map[string]text{
	// Language toggle: each language names itself.
	"lang.name": {"English", "中文"},

	// Layout.
	"nav.skip":       {"Skip to content", "跳到正文"},
	"nav.label":      {"Main", "主导航"},
	"nav.dashboard":  {"Dashboard", "总览"},
	"nav.history":    {"History", "历史"},
	"nav.coverage":   {"Coverage", "数据覆盖"},
	"nav.language":   {"Language", "语言"},
	"nav.breadcrumb": {"Breadcrumb", "位置"},
	"footer.tagline": {"marketsync · A-share daily market data, synced into PostgreSQL", "marketsync · A股日线行情同步至 PostgreSQL"},
	"footer.zone":    {"Times shown in %s", "时间按 %s 显示"},

	// Live connection.
	"live.connecting":   {"Connecting…", "正在连接…"},
	"live.connected":    {"Live", "实时"},
	"live.reconnecting": {"Reconnecting…", "正在重连…"},
	"live.offline":      {"Offline", "已断开"},

	// Batch states.
	"status.queued":           {"Queued", "排队中"},
	"status.running":          {"Running", "运行中"},
	"status.paused":           {"Paused", "已暂停"},
	"status.cancelling":       {"Cancelling", "正在取消"},
	"status.completed":        {"Completed", "已完成"},
	"status.completed_failed": {"Completed · %d failed", "已完成 · %d 天失败"},
	"status.failed":           {"Failed", "失败"},
	"status.cancelled":        {"Cancelled", "已取消"},

	// Day states.
	"day.pending":   {"Pending", "等待中"},
	"day.running":   {"Running", "同步中"},
	"day.succeeded": {"Succeeded", "成功"},
	"day.failed":    {"Failed", "失败"},
	"day.skipped":   {"Skipped", "跳过"},
	"day.cancelled": {"Cancelled", "已取消"},

	// Priorities.
	"priority.1": {"urgent", "紧急"},
	"priority.2": {"normal", "普通"},
	"priority.3": {"relaxed", "较低"},
	"priority.4": {"low", "低"},

	// Origins of an action.
	"origin.web":      {"Web", "网页"},
	"origin.api":      {"API", "API"},
	"origin.cli":      {"CLI", "命令行"},
	"origin.schedule": {"Schedule", "定时任务"},

	// Datasets.
	"dataset.daily": {"Daily bars (OHLC, volume, amount)", "日线行情 (开高低收、成交量、成交额)"},

	// Weekdays (time.Weekday numbers).
	"weekday.0": {"Sun", "周日"},
	"weekday.1": {"Mon", "周一"},
	"weekday.2": {"Tue", "周二"},
	"weekday.3": {"Wed", "周三"},
	"weekday.4": {"Thu", "周四"},
	"weekday.5": {"Fri", "周五"},
	"weekday.6": {"Sat", "周六"},

	// Counters.
	"count.succeeded":        {"succeeded", "成功"},
	"count.failed":           {"failed", "失败"},
	"count.skipped":          {"skipped", "跳过"},
	"count.total":            {"total", "总计"},
	"count.of_total":         {"of %s days", "共 %s 天"},
	"count.pending_n":        {"%s pending", "等待 %s"},
	"count.running_n":        {"%s running", "进行中 %s"},
	"count.cancelled_n":      {"%s cancelled", "已取消 %s"},
	"count.trading_days_n":   {"%s trading days", "交易日 %s"},
	"count.trading_days_1":   {"1 trading day", "交易日 1"},
	"dashboard.title":        {"Dashboard", "总览"},
	"dashboard.subtitle":     {"Start a batch sync and watch the running ones live.", "发起批量同步，实时查看运行中的任务。"},
	"dashboard.active":       {"Running batches", "运行中的批次"},
	"dashboard.active_count": {"%d active", "%d 个进行中"},
	"dashboard.no_active":    {"No batch is running. Start one with the form.", "当前没有运行中的批次，可用表单发起一个。"},
	"dashboard.recent":       {"Latest finished batches", "最近完成的批次"},
	"dashboard.all_history":  {"All history", "全部历史"},
	"dashboard.no_recent":    {"No batch has finished yet.", "还没有已完成的批次。"},
	"dashboard.running_for":  {"running %s", "已运行 %s"},

	// Start form.
	"form.title":      {"Start a batch", "发起批量同步"},
	"form.start":      {"Start date", "开始日期"},
	"form.end":        {"End date", "结束日期"},
	"form.datasets":   {"Datasets", "数据集"},
	"form.force":      {"Force re-sync", "强制重新同步"},
	"form.force_help": {"Reload days that are already synced.", "重新加载已同步的日期。"},
	"form.priority":   {"Priority", "优先级"},
	"form.submit":     {"Start sync", "开始同步"},
	"form.started":    {"Batch started:", "批次已启动:"},

	// Form and action error messages (the API words them the same way in English).
	"err.date_required":    {"date is required", "请填写日期"},
	"err.date_invalid":     {"not a date in the form YYYY-MM-DD", "日期格式应为 YYYY-MM-DD"},
	"err.range":            {"end date is before start date", "结束日期早于开始日期"},
	"err.outside_calendar": {"outside the trading calendar", "超出交易日历范围"},
	"err.dataset_unknown":  {"unknown dataset", "未知的数据集"},
	"err.dataset_required": {"choose at least one dataset", "请至少选择一个数据集"},
	"err.priority":         {"priority must be 1 (urgent) to 4 (low)", "优先级须为 1 (紧急) 到 4 (低)"},
	"err.not_found":        {"no such batch", "找不到该批次"},
	"err.conflict":         {"the batch's state does not allow this", "该批次当前状态不允许此操作"},
	"err.no_days":          {"select at least one day", "请至少选择一天"},
	"err.internal":         {"something went wrong; try again", "出错了，请重试"},
	"err.unavailable":      {"the database is unavailable; try again shortly", "数据库暂时不可用，请稍后重试"},
	"err.request":          {"this request cannot be answered", "无法处理此请求"},
	"err.method":           {"this address does not accept that kind of request", "此地址不接受这种请求"},
	"err.too_large":        {"the request is too large", "请求内容过大"},
	"err.websocket":        {"this address is for the live connection of a page", "此地址用于页面的实时连接"},
	"err.cross_site":       {"refused: this request came from another site", "已拒绝：此请求来自其他网站"},

	// Action answers.
	"action.pause":          {"Pause", "暂停"},
	"action.resume":         {"Resume", "继续"},
	"action.retry":          {"Retry %d failed", "重试 %d 个失败日"},
	"action.cancel":         {"Cancel", "取消"},
	"action.cancel_confirm": {"Cancel this batch? Days in flight roll back; finished days stay loaded.", "确定取消此批次？进行中的日期将回滚，已完成的日期保留。"},
	"action.cancelling":     {"Cancelling…", "正在取消…"},
	"action.paused":         {"Batch paused.", "批次已暂停。"},
	"action.resumed":        {"Batch resumed.", "批次已继续。"},
	"action.retried":        {"Failed days queued again.", "失败日期已重新排队。"},
	"action.cancelled":      {"Cancellation requested.", "已请求取消。"},

	// Batch page.
	"batch.title":           {"Batch %s", "批次 %s"},
	"batch.priority":        {"priority %d · %s", "优先级 %d · %s"},
	"batch.force":           {"force re-sync", "强制重新同步"},
	"batch.created":         {"Created %s by %s", "%s 由 %s 创建"},
	"batch.cancelled_by":    {"cancelled by %s", "由 %s 取消"},
	"batch.progress":        {"Progress", "进度"},
	"batch.days_done":       {"%s of %s days done", "已完成 %s / %s 天"},
	"batch.current_date":    {"Latest day started", "最新开始的日期"},
	"batch.timing":          {"Timing", "时间"},
	"batch.started":         {"Started", "开始时间"},
	"batch.not_started":     {"not yet", "尚未开始"},
	"batch.ended":           {"Ended", "结束时间"},
	"batch.duration":        {"Duration", "耗时"},
	"batch.elapsed":         {"Elapsed", "已用时"},
	"batch.eta":             {"Estimated finish", "预计完成"},
	"batch.eta_in":          {"in %s", "约 %s 后"},
	"batch.eta_unknown":     {"estimating…", "估算中…"},
	"batch.eta_paused":      {"paused", "已暂停"},
	"batch.rows":            {"Rows loaded", "已加载行数"},
	"batch.rate":            {"Speed", "速度"},
	"batch.rate_value":      {"%s rows/s", "%s 行/秒"},
	"batch.inflight":        {"In flight", "正在同步"},
	"batch.inflight_none":   {"waiting for a worker…", "等待执行…"},
	"batch.inflight_paused": {"paused: no day is loading", "已暂停，没有正在加载的日期"},
	"batch.inflight_tip":    {"%s %s · attempt %d · since %s", "%s %s · 第%d次尝试 · 开始于 %s"},
	"batch.attempt_n":       {"attempt %d", "第%d次尝试"},
	"line.queued":           {"queued: %d days waiting", "排队中: %d 天等待同步"},
	"line.running":          {"syncing %s… (%s)", "正在同步 %s… (%s)"},
	"line.running_nodate":   {"syncing… (%s)", "正在同步… (%s)"},
	"line.paused":           {"paused at %s", "已暂停于 %s"},
	"line.cancelling":       {"cancelling: %d days still rolling back", "正在取消: %d 天回滚中"},
	"final.completed":       {"completed: %d succeeded, %d failed, %d skipped in %s", "批量同步完成: 成功%d, 失败%d, 跳过%d, 耗时%s"},
	"final.cancelled":       {"cancelled: %d succeeded, %d failed, %d skipped, %d cancelled in %s", "批量同步已取消: 成功%d, 失败%d, 跳过%d, 取消%d, 耗时%s"},
	"final.failed":          {"failed: %d succeeded, %d failed, %d skipped in %s", "批量同步失败: 成功%d, 失败%d, 跳过%d, 耗时%s"},

	// Grid.
	"grid.title":    {"Days", "日期进度"},
	"grid.legend":   {"Legend", "图例"},
	"grid.empty":    {"No days yet.", "暂无日期。"},
	"grid.rows":     {"%s rows", "%s 行"},
	"grid.attempts": {"%d attempt(s)", "尝试 %d 次"},

	// Errors.
	"errors.recent":   {"Latest errors", "最近错误"},
	"errors.all":      {"All errors", "全部错误"},
	"errors.none":     {"No errors.", "没有错误。"},
	"errors.title":    {"Errors", "错误记录"},
	"errors.subtitle": {"%s failed attempts, newest first", "共 %s 次失败尝试，最新在前"},
	"errors.back":     {"Back to the batch", "返回批次"},
	"errors.retried":  {"retried", "已重试"},

	// History.
	"history.title":      {"History", "历史批次"},
	"history.subtitle":   {"%s batches, newest first", "共 %s 个批次，最新在前"},
	"history.status":     {"Status", "状态"},
	"history.dataset":    {"Dataset", "数据集"},
	"history.any":        {"Any", "全部"},
	"history.filter":     {"Filter", "筛选"},
	"history.clear":      {"Clear", "清除"},
	"history.none":       {"No batch has run yet.", "还没有运行过批次。"},
	"history.none_match": {"No batch matches these filters.", "没有符合筛选条件的批次。"},
	"table.range":        {"Range", "日期范围"},
	"table.status":       {"Status", "状态"},
	"table.counts":       {"OK / failed / skipped / total", "成功 / 失败 / 跳过 / 总计"},
	"table.rows":         {"Rows", "行数"},
	"table.started_by":   {"Started by", "发起方"},
	"table.created":      {"Created", "创建时间"},
	"table.duration":     {"Duration", "耗时"},
	"pager.label":        {"Pages", "分页"},
	"pager.prev":         {"Previous", "上一页"},
	"pager.next":         {"Next", "下一页"},
	"pager.showing":      {"%s–%s of %s", "第 %s–%s 条，共 %s 条"},

	// Coverage.
	"coverage.title":          {"Coverage", "数据覆盖"},
	"coverage.subtitle":       {"Which trading days are loaded. Tick missing days and sync them.", "查看已加载的交易日；勾选缺失的日期即可同步。"},
	"coverage.year":           {"Year", "年份"},
	"coverage.prev_year":      {"Previous year", "上一年"},
	"coverage.next_year":      {"Next year", "下一年"},
	"coverage.go":             {"Show", "查看"},
	"coverage.loaded":         {"Loaded", "已加载"},
	"coverage.missing":        {"Missing", "缺失"},
	"coverage.failed":         {"Failed", "失败"},
	"coverage.closed":         {"Non-trading", "非交易日"},
	"coverage.future":         {"Not yet / outside", "未到 / 范围外"},
	"coverage.selected":       {"Selected", "已选"},
	"coverage.synced_at":      {"synced %s", "同步于 %s"},
	"coverage.sync":           {"Sync selected days", "同步所选日期"},
	"coverage.select_missing": {"Select all missing", "全选缺失"},
	"coverage.select_none":    {"Clear selection", "清空选择"},
	"coverage.started":        {"Syncing %d selected days in %d batches:", "已为选中的 %d 天发起 %d 个批次:"},
	"coverage.empty":          {"No coverage data for this year.", "该年份暂无覆盖数据。"},

	// Problems.
	"notfound.title": {"Not found", "页面不存在"},
	"notfound.text":  {"There is nothing at this address.", "此地址没有内容。"},
	"notfound.home":  {"Go to the dashboard", "返回总览"},
	"error.title":    {"Something went wrong", "出错了"},
}
