package alert

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// Request is one HTTP POST of an alert: where (the webhook's URL, with DingTalk's
// signature added to its query) and the JSON body.
type Request struct {
	URL  string
	Body []byte
}

// Encode builds the request that tells w about ev, worded as t, signed (DingTalk,
// Feishu with a secret) as of now.
func Encode(w *market.Webhook, ev Event, t Text, now time.Time) (Request, error) {
	var body any
	target := w.URL
	switch w.Format {
	case market.FormatWeCom:
		// https://developer.work.weixin.qq.com/document/path/91770 (markdown message)
		body = map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": markdown(t)}}
	case market.FormatDingTalk:
		// https://open.dingtalk.com/document/robots/custom-robot-access (markdown, 加签)
		body = map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": t.Title, "text": markdown(t)}}
		if w.Secret != "" {
			var err error
			if target, err = dingTalkSigned(w.URL, w.Secret, now); err != nil {
				return Request{}, err
			}
		}
	case market.FormatFeishu:
		// https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot (text, 签名校验)
		m := map[string]any{"msg_type": "text", "content": map[string]string{"text": plain(t)}}
		if w.Secret != "" {
			ts := strconv.FormatInt(now.Unix(), 10)
			m["timestamp"], m["sign"] = ts, FeishuSign(ts, w.Secret)
		}
		body = m
	case market.FormatGeneric:
		body = generic{Event: ev, Title: t.Title, Text: plain(t), Link: t.Link}
	default:
		return Request{}, fmt.Errorf("%w: unknown webhook format %q", market.ErrInvalidInput, w.Format)
	}
	b, err := json.Marshal(body)
	return Request{URL: target, Body: b}, err
}

// generic is the plain JSON payload: the event's fields, its words and the link.
type generic struct {
	Event
	Title string `json:"title"`
	Text  string `json:"text"`
	Link  string `json:"link,omitempty"`
}

// markdown is t for WeCom's and DingTalk's markdown: a heading, quoted lines, a link.
func markdown(t Text) string {
	var b strings.Builder
	b.WriteString("### " + t.Title + "\n")
	for _, l := range t.Lines {
		b.WriteString("> " + l + "\n")
	}
	if t.Link != "" {
		fmt.Fprintf(&b, "\n[%s](%s)\n", t.LinkLabel, t.Link)
	}
	return b.String()
}

// plain is t as text lines, the link last.
func plain(t Text) string {
	lines := append([]string{t.Title}, t.Lines...)
	if t.Link != "" {
		lines = append(lines, t.Link)
	}
	return strings.Join(lines, "\n")
}

// DingTalkSign is DingTalk's signature of a request at timestamp ms (milliseconds):
// base64(HmacSHA256(key secret, timestamp+"\n"+secret)).
func DingTalkSign(ms, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ms + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// dingTalkSigned adds &timestamp=…&sign=… to a DingTalk robot URL.
func dingTalkSigned(raw, secret string, now time.Time) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: the webhook URL does not parse", market.ErrInvalidInput)
	}
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	q := u.Query()
	q.Set("timestamp", ms)
	q.Set("sign", DingTalkSign(ms, secret))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// FeishuSign is Feishu's signature at timestamp ts (seconds): base64 of the
// HmacSHA256, keyed with ts+"\n"+secret, of an empty message.
func FeishuSign(ts, secret string) string {
	mac := hmac.New(sha256.New, []byte(ts+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
