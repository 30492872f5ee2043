package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// hookKey sits in the test webhooks' URLs: pages must never show it.
const hookKey = "feedfacecafebeef0123456789SECRET"

func TestAlertsSettings(t *testing.T) {
	t.Parallel()
	// The settings are an admin's; the role matrix checks that, this test the pages.
	e := setup(t, options{auth: &auth.Config{Anonymous: market.RoleAdmin}})
	var hits atomic.Int64
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/bad" {
			fmt.Fprint(w, `{"errcode":310000,"errmsg":"keywords not in content"}`)
			return
		}
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(robot.Close)

	r := e.do(t, "GET", "/settings/alerts", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, `id="webhook-form"`)
	require.Contains(t, r.body, "No webhooks yet.")

	// Refused: each field says what is wrong, 422.
	r = e.do(t, "POST", "/settings/alerts", form("name", "", "format", "slack", "url", "ftp://x"), htmx()...)
	require.Equal(t, 422, r.status, r.body)
	require.Regexp(t, `data-field="name"[^>]*>\s*a name of 1 to 100`, r.body)
	require.Regexp(t, `data-field="url"[^>]*>\s*the URL must start with http`, r.body)
	require.Regexp(t, `data-field="format"[^>]*>\s*choose a known format`, r.body)
	require.Contains(t, r.body, "choose at least one event")
	r = e.do(t, "POST", "/settings/alerts", form("name", "x", "format", "wecom", "url", "https://h/", "events", "batch_failed"),
		htmx("Cookie", "lang=zh")...)
	require.Equal(t, 200, r.status, r.body)

	// Saved: the list shows the host and the key masked, never the key.
	r = e.do(t, "POST", "/settings/alerts", form("name", "ops robot", "format", "dingtalk", "url", robot.URL+"/ok?access_token="+hookKey,
		"secret", "SECsigning", "events", "batch_failed", "events", "batch_failed_days", "enabled", "true"), htmx()...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, "ops robot")
	require.Contains(t, r.body, "access_token=••••CRET")
	require.NotContains(t, r.body, hookKey)
	require.NotContains(t, r.body, "SECsigning")
	hooks, err := e.engine.Webhooks(context.Background())
	require.NoError(t, err)
	require.Len(t, hooks, 2)
	audited, _, err := store.AuditLog(context.Background(), e.pool, store.AuditFilter{Action: market.AuditWebhook, Limit: 10})
	require.NoError(t, err)
	require.Len(t, audited, 2, "every webhook change is in the audit trail")
	require.Contains(t, audited[0].Detail, `"ops robot"`)
	require.NotContains(t, audited[0].Detail, hookKey)
	n := hooks[1].ID
	id := regexp.MustCompile(`id="webhook-(\d+)"`).FindAllStringSubmatch(r.body, -1)[1]
	require.Equal(t, fmt.Sprint(n), id[1])

	for _, path := range []string{"/settings/alerts", "/settings/alerts/" + id[1] + "/edit", "/settings/alerts/" + id[1]} {
		r = e.do(t, "GET", path, nil)
		require.Equal(t, 200, r.status, path)
		require.NotContains(t, r.body, hookKey, path)
		require.NotContains(t, r.body, "SECsigning", path)
	}

	// Send test: delivered at once, the answer inline.
	r = e.do(t, "POST", "/settings/alerts/"+id[1]+"/test", nil, htmx()...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, "Delivered (HTTP 200).")
	require.EqualValues(t, 1, hits.Load())

	// Edit without a URL keeps the saved one (and its secret); disable; test shows the robot's error.
	r = e.do(t, "POST", "/settings/alerts/"+id[1], form("name", "ops", "format", "dingtalk", "events", "batch_failed"), htmx()...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, "access_token=••••CRET")
	r = e.do(t, "POST", "/settings/alerts/"+id[1]+"/enabled", form("enabled", "false"), htmx()...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, "Disabled")
	w, err := e.engine.Webhook(context.Background(), n)
	require.NoError(t, err)
	require.Equal(t, "SECsigning", w.Secret)
	require.False(t, w.Enabled)
	require.Equal(t, []market.AlertEvent{market.AlertBatchFailed}, w.Events)
	w.URL = robot.URL + "/bad?access_token=" + hookKey
	require.NoError(t, e.engine.SaveWebhook(context.Background(), w, market.Actor{By: "test"}))
	r = e.do(t, "POST", "/settings/alerts/"+id[1]+"/test", nil, htmx()...)
	require.Equal(t, 502, r.status, r.body)
	require.Contains(t, r.body, "310000")
	require.Contains(t, r.body, "keywords not in content")
	require.NotContains(t, r.body, hookKey)

	// Delete; an unknown webhook is 404.
	r = e.do(t, "POST", "/settings/alerts/"+id[1]+"/delete", nil, htmx()...)
	require.Equal(t, 200, r.status, r.body)
	r = e.do(t, "GET", "/settings/alerts/"+id[1]+"/edit", nil)
	require.Equal(t, 404, r.status)
	r = e.do(t, "POST", "/settings/alerts/nope/test", nil, htmx()...)
	require.Equal(t, 404, r.status)
}
