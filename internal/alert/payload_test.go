package alert

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/catalog"
	"github.com/marketsync/marketsync/internal/market"
)

var (
	fixedNow = time.Date(2025, 10, 20, 1, 0, 0, 0, time.UTC) // 1760922000
	failed   = Event{Kind: market.AlertBatchFailedDays, TaskID: "2025-10-01_2025-10-10_1760922000",
		Status: market.BatchCompleted, Total: 10, Success: 5, Failed: 2, Skipped: 3,
		Message: "2025-10-09: upstream timeout", Time: fixedNow}
)

func encode(t *testing.T, w *market.Webhook, lang catalog.Lang) Request {
	t.Helper()
	req, err := Encode(w, failed, Render(failed, lang, "https://ms.example.com/"), fixedNow)
	require.NoError(t, err)
	return req
}

func TestWeComMarkdown(t *testing.T) {
	t.Parallel()
	w := &market.Webhook{Format: market.FormatWeCom, URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1"}
	req := encode(t, w, catalog.ZH)
	require.Equal(t, w.URL, req.URL)
	require.JSONEq(t, `{"msgtype":"markdown","markdown":{"content":"### marketsync：批量同步 2025-10-01_2025-10-10_1760922000 已完成，2 天失败\n> 状态：已完成\n> 成功 5，失败 2，跳过 3，共 10\n> 原因：2025-10-09: upstream timeout\n\n[查看批次](https://ms.example.com/batches/2025-10-01_2025-10-10_1760922000)\n"}}`, string(req.Body))
}

func TestDingTalkMarkdownSigned(t *testing.T) {
	t.Parallel()
	w := &market.Webhook{Format: market.FormatDingTalk, URL: "https://oapi.dingtalk.com/robot/send?access_token=tok", Secret: "SECtest-secret"}
	req := encode(t, w, catalog.EN)
	require.JSONEq(t, `{"msgtype":"markdown","markdown":{"title":"marketsync: batch 2025-10-01_2025-10-10_1760922000 completed with 2 failed days","text":"### marketsync: batch 2025-10-01_2025-10-10_1760922000 completed with 2 failed days\n> Status: Completed\n> 5 loaded, 2 failed, 3 skipped of 10\n> Reason: 2025-10-09: upstream timeout\n\n[Open the batch](https://ms.example.com/batches/2025-10-01_2025-10-10_1760922000)\n"}}`, string(req.Body))
	u, err := url.Parse(req.URL)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, "tok", q.Get("access_token"))
	require.Equal(t, "1760922000000", q.Get("timestamp"), "milliseconds")
	// base64(HmacSHA256(secret, "1760922000000\nSECtest-secret")), worked out apart.
	require.Equal(t, "LDWrc7VZJQ4oM+uBdtt2YN7sNvinGD6wo6oC7jaMUyA=", q.Get("sign"))

	w.Secret = ""
	require.Equal(t, w.URL, encode(t, w, catalog.EN).URL, "unsigned without a secret")
}

func TestFeishuTextSigned(t *testing.T) {
	t.Parallel()
	w := &market.Webhook{Format: market.FormatFeishu, URL: "https://open.feishu.cn/open-apis/bot/v2/hook/abc", Secret: "feishu-secret"}
	req := encode(t, w, catalog.ZH)
	require.Equal(t, w.URL, req.URL)
	// sign: base64(HmacSHA256(key "1760922000\nfeishu-secret", empty message)), worked out apart.
	require.JSONEq(t, `{"timestamp":"1760922000","sign":"tjxwJ0CfyfZcP5FsElCf+bnPUOxRos+pxbkVdOi4NoQ=","msg_type":"text","content":{"text":"marketsync：批量同步 2025-10-01_2025-10-10_1760922000 已完成，2 天失败\n状态：已完成\n成功 5，失败 2，跳过 3，共 10\n原因：2025-10-09: upstream timeout\nhttps://ms.example.com/batches/2025-10-01_2025-10-10_1760922000"}}`, string(req.Body))

	w.Secret = ""
	var body map[string]any
	require.NoError(t, json.Unmarshal(encode(t, w, catalog.ZH).Body, &body))
	require.NotContains(t, body, "sign")
	require.NotContains(t, body, "timestamp")
}

func TestGenericJSON(t *testing.T) {
	t.Parallel()
	w := &market.Webhook{Format: market.FormatGeneric, URL: "http://127.0.0.1:9/hook"}
	req := encode(t, w, catalog.EN)
	require.JSONEq(t, `{"event":"batch_failed_days","task_id":"2025-10-01_2025-10-10_1760922000","status":"completed",
		"total":10,"success":5,"failed":2,"skipped":3,"message":"2025-10-09: upstream timeout","time":"2025-10-20T01:00:00Z",
		"title":"marketsync: batch 2025-10-01_2025-10-10_1760922000 completed with 2 failed days",
		"text":"marketsync: batch 2025-10-01_2025-10-10_1760922000 completed with 2 failed days\nStatus: Completed\n5 loaded, 2 failed, 3 skipped of 10\nReason: 2025-10-09: upstream timeout\nhttps://ms.example.com/batches/2025-10-01_2025-10-10_1760922000",
		"link":"https://ms.example.com/batches/2025-10-01_2025-10-10_1760922000"}`, string(req.Body))
}

func TestScheduleAndTestWords(t *testing.T) {
	t.Parallel()
	tx := Render(Event{Kind: market.AlertScheduleMissed, Schedule: "nightly", Message: "the database was down"}, catalog.ZH, DefaultPublicURL)
	require.Equal(t, "marketsync：定时任务 nightly 未能启动", tx.Title)
	require.Equal(t, []string{"原因：the database was down"}, tx.Lines)
	require.Empty(t, tx.Link)
	tx = Render(Event{Kind: market.AlertTest, Webhook: "ops"}, catalog.EN, DefaultPublicURL)
	require.Equal(t, "marketsync: test alert", tx.Title)
	require.Equal(t, []string{"If you can read this, the webhook ops works."}, tx.Lines)
}

func TestRobotAnswers(t *testing.T) {
	t.Parallel()
	code, msg := robotAnswer(market.FormatWeCom, []byte(`{"errcode":93000,"errmsg":"invalid webhook url"}`))
	require.Equal(t, 93000, code)
	require.Equal(t, "invalid webhook url", msg)
	code, _ = robotAnswer(market.FormatDingTalk, []byte(`{"errcode":0,"errmsg":"ok"}`))
	require.Zero(t, code)
	code, msg = robotAnswer(market.FormatFeishu, []byte(`{"code":19021,"data":{},"msg":"sign match fail"}`))
	require.Equal(t, 19021, code)
	require.Equal(t, "sign match fail", msg)
	code, _ = robotAnswer(market.FormatFeishu, []byte(`{"StatusCode":0,"StatusMessage":"success"}`))
	require.Zero(t, code)
	code, _ = robotAnswer(market.FormatGeneric, []byte(`{"errcode":1}`))
	require.Zero(t, code, "a generic endpoint's body is its own business")
	code, _ = robotAnswer(market.FormatWeCom, []byte(`not json`))
	require.Zero(t, code)
}

func TestMaskURL(t *testing.T) {
	t.Parallel()
	require.Equal(t, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=••••cdef",
		market.MaskURL("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa0bcdef"))
	require.Equal(t, "https://open.feishu.cn/open-apis/bot/v2/hook/••••2f4e",
		market.MaskURL("https://open.feishu.cn/open-apis/bot/v2/hook/5e3d587e-d78e-4a07-bd07-265f269f2f4e"))
	require.Equal(t, "http://h:8080/x?a=••••", market.MaskURL("http://user:pw@h:8080/x?a=short"))
	require.Equal(t, "••••", market.MaskURL("::not a url"))
}
