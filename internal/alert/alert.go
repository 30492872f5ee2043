// Package alert tells webhooks what went wrong: the Event (a batch failed, completed with
// failed days, a scheduled run did not start or ended badly), its payload in the formats
// of WeCom, DingTalk and Feishu group robots or plain JSON, and the Sender that posts
// it and reads the robot's answer. The engine queues one delivery per (webhook, event)
// in the transaction that makes the event true, and River retries it.
package alert

import (
	"fmt"
	"strings"
	"time"

	"github.com/marketsync/marketsync/internal/catalog"
	"github.com/marketsync/marketsync/internal/market"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvPublicURL = "MARKETSYNC_PUBLIC_URL"
	EnvLang      = "MARKETSYNC_ALERT_LANG"
)

// DefaultPublicURL is where alerts link to when MARKETSYNC_PUBLIC_URL is not set.
const DefaultPublicURL = "http://localhost:8000"

// Event is what happened. Batch events carry the batch's task id, state and counts;
// schedule events the schedule's name (and the batch, when one started). It travels as
// JSON in the queued delivery, and is the generic format's payload.
type Event struct {
	Kind     market.AlertEvent `json:"event"`
	TaskID   string            `json:"task_id,omitempty"`
	Schedule string            `json:"schedule,omitempty"`
	// Webhook names the webhook a test event is sent to.
	Webhook string             `json:"webhook,omitempty"`
	Status  market.BatchStatus `json:"status,omitempty"`
	Total   int                `json:"total"`
	Success int                `json:"success"`
	Failed  int                `json:"failed"`
	Skipped int                `json:"skipped"`
	// Message says why (the batch's reason, the newest error, why a run did not start).
	Message string    `json:"message,omitempty"`
	Time    time.Time `json:"time"`
}

// Text is an alert rendered in one language: a title, the lines under it and the link
// to the batch's page ("" when there is no batch).
type Text struct {
	Title     string
	Lines     []string
	Link      string
	LinkLabel string
}

// maxMessage bounds the reason quoted in an alert (robots cap a message at a few KB).
const maxMessage = 500

// Render words ev in lang; publicURL is where marketsync's pages are (the link's base).
func Render(ev Event, lang catalog.Lang, publicURL string) Text {
	t := Text{Title: title(ev, lang)}
	if ev.Kind == market.AlertTest {
		t.Lines = append(t.Lines, catalog.T(lang, "alert.line.test", ev.Webhook))
		return t
	}
	if ev.Status != "" {
		t.Lines = append(t.Lines, catalog.T(lang, "alert.line.status", catalog.T(lang, "status."+string(ev.Status))))
	}
	if ev.Total > 0 {
		t.Lines = append(t.Lines, catalog.T(lang, "alert.line.counts", ev.Success, ev.Failed, ev.Skipped, ev.Total))
	}
	if m := strings.TrimSpace(ev.Message); m != "" {
		if r := []rune(m); len(r) > maxMessage {
			m = string(r[:maxMessage]) + "…"
		}
		t.Lines = append(t.Lines, catalog.T(lang, "alert.line.reason", m))
	}
	t.Link, t.LinkLabel = Link(publicURL, ev.TaskID), catalog.T(lang, "alert.line.link")
	return t
}

// Link is the page of batch taskID under publicURL, or "" without a batch.
func Link(publicURL, taskID string) string {
	if taskID == "" {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + "/batches/" + taskID
}

func title(ev Event, lang catalog.Lang) string {
	switch ev.Kind {
	case market.AlertBatchFailed:
		return catalog.T(lang, "alert.title.batch_failed", ev.TaskID)
	case market.AlertBatchFailedDays:
		return catalog.T(lang, "alert.title.batch_failed_days", ev.TaskID, ev.Failed)
	case market.AlertScheduleMissed:
		return catalog.T(lang, "alert.title.schedule_missed", ev.Schedule)
	case market.AlertScheduleFailed:
		return catalog.T(lang, "alert.title.schedule_failed", ev.Schedule)
	case market.AlertTest:
		return catalog.T(lang, "alert.title.test")
	}
	return fmt.Sprintf("marketsync: %s", ev.Kind)
}

// ParseLang reads MARKETSYNC_ALERT_LANG: "zh" (the default: these are Chinese group
// robots) or "en".
func ParseLang(v string) (catalog.Lang, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "zh", "zh-cn":
		return catalog.ZH, nil
	case "en":
		return catalog.EN, nil
	}
	return "", fmt.Errorf("%s=%q: want zh or en", EnvLang, v)
}
