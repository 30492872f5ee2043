package market

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// AlertEvent is a kind of event a webhook may be told about.
type AlertEvent string

// The events a webhook can subscribe to, and the test event the settings page sends.
const (
	// AlertBatchFailed: a batch could not go on and ended failed (the source refused).
	AlertBatchFailed AlertEvent = "batch_failed"
	// AlertBatchFailedDays: a batch ran to its end, but some of its days failed.
	AlertBatchFailedDays AlertEvent = "batch_failed_days"
	// AlertScheduleMissed: a scheduled run did not start.
	AlertScheduleMissed AlertEvent = "schedule_missed"
	// AlertScheduleFailed: a scheduled run ended badly.
	AlertScheduleFailed AlertEvent = "schedule_failed"
	// AlertTest is the event the settings page's "Send test" delivers; nobody subscribes
	// to it.
	AlertTest AlertEvent = "test"
)

// AlertEvents lists the events a webhook can subscribe to, in the order pages show them.
func AlertEvents() []AlertEvent {
	return []AlertEvent{AlertBatchFailed, AlertBatchFailedDays, AlertScheduleMissed, AlertScheduleFailed}
}

// BatchAlert is the rule for a batch that has just ended: a failed batch raises
// AlertBatchFailed, a completed one with failed days AlertBatchFailedDays; anything else
// (completed cleanly, cancelled, not finished) raises nothing.
func BatchAlert(status BatchStatus, failedDays int) (AlertEvent, bool) {
	switch {
	case status == BatchFailed:
		return AlertBatchFailed, true
	case status == BatchCompleted && failedDays > 0:
		return AlertBatchFailedDays, true
	}
	return "", false
}

// WebhookFormat is the payload a webhook receives: a Chinese group robot's or plain JSON.
type WebhookFormat string

// The webhook formats.
const (
	FormatWeCom    WebhookFormat = "wecom"
	FormatDingTalk WebhookFormat = "dingtalk"
	FormatFeishu   WebhookFormat = "feishu"
	FormatGeneric  WebhookFormat = "generic"
)

// WebhookFormats lists the formats in the order pages offer them.
func WebhookFormats() []WebhookFormat {
	return []WebhookFormat{FormatWeCom, FormatDingTalk, FormatFeishu, FormatGeneric}
}

// Signs reports whether the format can sign its requests with a secret (DingTalk and
// Feishu robots' "signature" security setting).
func (f WebhookFormat) Signs() bool { return f == FormatDingTalk || f == FormatFeishu }

// Delivery states of a webhook's last alert.
const (
	DeliveryOK       = "delivered"
	DeliveryRetrying = "retrying"
	DeliveryFailed   = "failed"
)

// Webhook is where alerts go: a group robot's or any HTTP endpoint's URL, the format it
// speaks and the events it wants. URL and Secret are secrets (robot keys sit in the
// URL): show the URL only through MaskURL, and the secret never.
type Webhook struct {
	ID      int64
	Name    string
	Format  WebhookFormat
	URL     string
	Secret  string
	Events  []AlertEvent
	Enabled bool

	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
	UpdatedBy string
	// The last delivery: DeliveryOK, DeliveryRetrying or DeliveryFailed ("" before any),
	// when, and the error (never the URL).
	LastStatus string
	LastAt     *time.Time
	LastError  string
}

// Wants reports whether the webhook is enabled and subscribes to ev.
func (w *Webhook) Wants(ev AlertEvent) bool {
	return w.Enabled && slices.Contains(w.Events, ev)
}

// MaskedURL is the webhook's URL with its keys masked, for pages.
func (w *Webhook) MaskedURL() string { return MaskURL(w.URL) }

// WebhookProblem is an invalid field of a webhook: Field is "name", "url", "format" or
// "events"; Err wraps ErrInvalidInput and says what is wrong (never the URL itself).
type WebhookProblem struct {
	Field string
	Err   error
}

// Check returns what is wrong with the webhook, field by field: a name, an http(s) URL
// with a host, a known format and at least one known event are required.
func (w *Webhook) Check() []WebhookProblem {
	var out []WebhookProblem
	bad := func(field, format string, args ...any) {
		out = append(out, WebhookProblem{Field: field, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)})
	}
	if n := strings.TrimSpace(w.Name); n == "" || len([]rune(n)) > 100 {
		bad("name", "a name of 1 to 100 characters is required")
	}
	if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url", "the URL must start with http:// or https:// and name a host")
	}
	if !slices.Contains(WebhookFormats(), w.Format) {
		bad("format", "unknown format %q (known: wecom, dingtalk, feishu, generic)", w.Format)
	}
	if len(w.Events) == 0 {
		bad("events", "choose at least one event")
	}
	for _, ev := range w.Events {
		if !slices.Contains(AlertEvents(), ev) {
			bad("events", "unknown event %q", ev)
			break
		}
	}
	return out
}

// ErrWebhook joins a webhook's problems into one error (nil when there are none).
func ErrWebhook(problems []WebhookProblem) error {
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = fmt.Errorf("%s: %w", p.Field, p.Err)
	}
	return errors.Join(errs...)
}

// MaskURL shows a webhook URL without its secrets: the scheme and host, the path with
// its long (key-like) segments masked, and every query value masked, keeping the last
// four characters of each so two robots can be told apart. Credentials are dropped.
// A URL that does not parse is masked whole.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "••••"
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i, s := range segs {
		if len(s) >= 16 {
			segs[i] = maskKey(s)
		}
	}
	out := u.Scheme + "://" + u.Host + strings.Join(segs, "/")
	if u.RawQuery == "" {
		return out
	}
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = url.QueryEscape(k) + "=" + maskKey(q.Get(k))
	}
	return out + "?" + strings.Join(parts, "&")
}

// maskKey hides a key but for its last four characters (all of it when it is short).
func maskKey(s string) string {
	if len(s) < 12 {
		return "••••"
	}
	return "••••" + s[len(s)-4:]
}
