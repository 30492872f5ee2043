package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/catalog"
	"github.com/marketsync/marketsync/internal/market"
)

// Config configures a Sender. Zero values take the defaults noted on each field.
type Config struct {
	// PublicURL is where marketsync's pages are, the base of alerts' links (default
	// DefaultPublicURL; MARKETSYNC_PUBLIC_URL).
	PublicURL string
	// Lang is the language of the alerts' words (default Simplified Chinese;
	// MARKETSYNC_ALERT_LANG).
	Lang catalog.Lang
	// Timeout bounds one HTTP call (default 10s).
	Timeout time.Duration
	// Client posts the requests (default: a client of its own).
	Client *http.Client
	// Now is the clock, for signatures (default time.Now).
	Now func() time.Time
}

// ConfigFromEnv reads MARKETSYNC_PUBLIC_URL and MARKETSYNC_ALERT_LANG through getenv.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{PublicURL: getenv(EnvPublicURL)}
	if cfg.PublicURL != "" {
		if u, err := url.Parse(cfg.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("%s=%q: want an http(s) URL such as https://marketsync.example.com", EnvPublicURL, cfg.PublicURL)
		}
	}
	lang, err := ParseLang(getenv(EnvLang))
	cfg.Lang = lang
	return cfg, err
}

// Sender delivers alerts: it renders, encodes and posts one, and reads the answer.
type Sender struct {
	cfg Config
}

// NewSender builds a Sender from cfg (nil: every default).
func NewSender(cfg *Config) *Sender {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.PublicURL == "" {
		c.PublicURL = DefaultPublicURL
	}
	if c.Lang == "" {
		c.Lang = catalog.ZH
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Sender{cfg: c}
}

// Result is how a delivery went: the HTTP status (0 when no answer came) and, for a
// robot, the error code and message of its answer.
type Result struct {
	Status    int
	RobotCode int
	RobotMsg  string
}

// DeliveryError is a delivery that did not go through. Its text never holds the URL
// (robot keys sit in it): it names the host, the HTTP status or the robot's error.
type DeliveryError struct {
	Result
	Host string
	// Reason is why, when no answer came (a timeout, a refused connection).
	Reason string
}

func (e *DeliveryError) Error() string {
	switch {
	case e.Reason != "":
		return fmt.Sprintf("posting to %s: %s", e.Host, e.Reason)
	case e.Status < 200 || e.Status > 299:
		return fmt.Sprintf("%s answered HTTP %d%s", e.Host, e.Status, robotSuffix(e.Result))
	}
	return fmt.Sprintf("%s refused the message: error %d%s", e.Host, e.RobotCode, robotSuffix(e.Result))
}

func robotSuffix(r Result) string {
	if r.RobotMsg == "" {
		return ""
	}
	return " (" + r.RobotMsg + ")"
}

// Test is the event the settings page's "Send test" delivers to w.
func (s *Sender) Test(w *market.Webhook) Event {
	return Event{Kind: market.AlertTest, Webhook: w.Name, Time: s.cfg.Now().UTC()}
}

// Send delivers ev to w once, within the Timeout, and reports how it went. A non-2xx
// answer, or a robot's error in a 200 answer (WeCom and DingTalk "errcode" != 0, Feishu
// "code" != 0), is a *DeliveryError; so is a call that got no answer.
func (s *Sender) Send(ctx context.Context, w *market.Webhook, ev Event) (Result, error) {
	host := hostOf(w.URL)
	req, err := Encode(w, ev, Render(ev, s.cfg.Lang, s.cfg.PublicURL), s.cfg.Now())
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return Result{}, &DeliveryError{Host: host, Reason: "the URL is not valid"}
	}
	hr.Header.Set("Content-Type", "application/json; charset=utf-8")
	hr.Header.Set("User-Agent", "marketsync-alert")
	resp, err := s.cfg.Client.Do(hr)
	if err != nil {
		return Result{}, &DeliveryError{Host: host, Reason: reason(ctx, err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	res := Result{Status: resp.StatusCode}
	res.RobotCode, res.RobotMsg = robotAnswer(w.Format, body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || res.RobotCode != 0 {
		return res, &DeliveryError{Result: res, Host: host}
	}
	return res, nil
}

// robotAnswer reads a robot's error code and message from its answer: WeCom's and
// DingTalk's errcode/errmsg, Feishu's code/msg (or its older StatusCode/StatusMessage).
// Anything else (the generic format, a body that is not JSON) is no robot error.
func robotAnswer(f market.WebhookFormat, body []byte) (int, string) {
	var a struct {
		ErrCode       *int   `json:"errcode"`
		ErrMsg        string `json:"errmsg"`
		Code          *int   `json:"code"`
		Msg           string `json:"msg"`
		StatusCode    *int   `json:"StatusCode"`
		StatusMessage string `json:"StatusMessage"`
	}
	if f == market.FormatGeneric || json.Unmarshal(body, &a) != nil {
		return 0, ""
	}
	switch {
	case (f == market.FormatWeCom || f == market.FormatDingTalk) && a.ErrCode != nil:
		return *a.ErrCode, clip(a.ErrMsg)
	case f == market.FormatFeishu && a.Code != nil:
		return *a.Code, clip(a.Msg)
	case f == market.FormatFeishu && a.StatusCode != nil:
		return *a.StatusCode, clip(a.StatusMessage)
	}
	return 0, ""
}

// clip keeps a robot's message short.
func clip(s string) string {
	if r := []rune(s); len(r) > 200 {
		return string(r[:200]) + "…"
	}
	return s
}

// reason says why a call got no answer, without the URL that net/http's errors quote.
func reason(ctx context.Context, err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return strings.TrimSpace(err.Error())
}

// hostOf is the host a URL points at, for messages.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "the webhook"
}
