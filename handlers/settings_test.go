package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/handlers"
	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

var _ handlers.Schedules = (*engine.Scheduler)(nil)

// schedules reads the schedules table: "dataset/source" → "HH:MM enabled".
func (e *env) schedules(t *testing.T) map[string]string {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), "SELECT dataset || '/' || source, to_char(fire_at, 'HH24:MI') || ' ' || enabled::text FROM schedules")
	require.NoError(t, err)
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		require.NoError(t, rows.Scan(&k, &v))
		out[k] = v
	}
	require.NoError(t, rows.Err())
	return out
}

func TestSettingsSchedules(t *testing.T) {
	t.Parallel()
	// The settings are an admin's; the role matrix checks that, this test the page.
	e := setup(t, options{auth: &auth.Config{Anonymous: market.RoleAdmin}})
	htmx := []string{"HX-Request", "true"}

	r := e.do(t, "GET", "/settings", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, `id="schedules"`)
	require.Contains(t, r.body, `id="settings-sections"`)

	form := url.Values{"dataset": {"daily"}, "source": {"demo"}, "time": {"18:15"}, "enabled": {"true"}}
	r = e.do(t, "POST", "/settings/schedules", form, htmx...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, `data-testid="schedule-saved"`)
	require.Contains(t, r.body, `value="18:15"`)
	require.Equal(t, map[string]string{"daily/demo": "18:15 true"}, e.schedules(t))

	// Bad input: 422, saying what is wrong, and nothing changes.
	for _, bad := range []struct {
		form url.Values
		says string
	}{
		{url.Values{"dataset": {"minute"}, "source": {"demo"}, "time": {"09:00"}, "enabled": {"true"}}, "unknown dataset"},
		{url.Values{"dataset": {"daily"}, "source": {"demo"}, "time": {"25:00"}, "enabled": {"true"}}, "HH:MM"},
		{url.Values{"dataset": {"daily"}, "source": {"demo"}, "time": {""}}, "HH:MM"},
		{url.Values{"dataset": {"daily"}, "source": {"tushare"}, "time": {"09:00"}}, "unknown source"},
	} {
		r = e.do(t, "POST", "/settings/schedules", bad.form, htmx...)
		require.Equal(t, 422, r.status, bad.form.Encode())
		require.Contains(t, r.body, `data-testid="schedule-error"`)
		require.Contains(t, r.body, bad.says)
		require.Equal(t, map[string]string{"daily/demo": "18:15 true"}, e.schedules(t), bad.form.Encode())
	}
	r = e.do(t, "POST", "/settings/schedules", url.Values{"dataset": {"minute"}, "time": {"09:00"}})
	require.Equal(t, 422, r.status, "a plain POST is refused the same way")

	// Change it: another time, disabled (the box unticked); a plain POST goes back.
	r = e.do(t, "POST", "/settings/schedules", url.Values{"dataset": {"daily"}, "source": {"demo"}, "time": {"09:05"}})
	require.Equal(t, 303, r.status)
	require.Equal(t, "/settings", r.header.Get("Location"))
	require.Equal(t, map[string]string{"daily/demo": "09:05 false"}, e.schedules(t))
	r = e.do(t, "POST", "/settings/schedules", url.Values{"dataset": {"adj_factor"}, "source": {"demo"}, "time": {"17:30"}, "enabled": {"on"}}, htmx...)
	require.Equal(t, 200, r.status)
	require.Equal(t, map[string]string{"daily/demo": "09:05 false", "adj_factor/demo": "17:30 true"}, e.schedules(t))
	var by string
	require.NoError(t, e.pool.QueryRow(context.Background(), "SELECT updated_by FROM schedules WHERE dataset = 'adj_factor'").Scan(&by))
	require.Contains(t, by, string(market.OriginWeb))

	// The dashboard shows the next run of each.
	r = e.do(t, "GET", "/", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, `data-testid="schedule-panel"`)
	require.Contains(t, r.body, "Next run")
	require.Contains(t, r.body, "Disabled")

	// Delete one: it goes, audited; deleting it again is a 404.
	var id int64
	require.NoError(t, e.pool.QueryRow(context.Background(), "SELECT id FROM schedules WHERE dataset = 'adj_factor'").Scan(&id))
	r = e.do(t, "POST", fmt.Sprintf("/settings/schedules/%d/delete", id), nil, htmx...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, "was deleted")
	require.Equal(t, map[string]string{"daily/demo": "09:05 false"}, e.schedules(t))
	audited, _, err := store.AuditLog(context.Background(), e.pool, store.AuditFilter{Action: market.AuditSchedule, Limit: 10})
	require.NoError(t, err)
	require.Contains(t, audited[0].Detail, "deleted adj_factor/demo")
	r = e.do(t, "POST", fmt.Sprintf("/settings/schedules/%d/delete", id), nil, htmx...)
	require.Equal(t, 404, r.status)
}
