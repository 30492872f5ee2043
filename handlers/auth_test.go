package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// caller is one way of asking: nobody, a browser signed in with some role (its session
// cookie and CSRF token), or a script with an API token.
type caller struct {
	name   string
	role   market.Role // "" for nobody
	header []string
	// csrf is the session's token, sent by the page's htmx; "" for the others.
	csrf string
}

var cli = market.Actor{By: market.OriginCLI, User: "test"}

// accounts makes one user per role and returns the callers of the matrix: nobody, a
// session of each role, and a token of each role.
func accounts(t *testing.T, e *env) []caller {
	t.Helper()
	ctx := context.Background()
	out := []caller{{name: "nobody"}}
	for _, r := range market.Roles() {
		name := "u-" + string(r)
		_, err := e.auth.AddUser(ctx, cli, name, r, name+" password")
		require.NoError(t, err)
		id, p, err := e.auth.Login(ctx, name, name+" password", "192.0.2.1", "test")
		require.NoError(t, err)
		out = append(out, caller{name: string(r) + " session", role: r, csrf: p.CSRF,
			header: []string{"Cookie", "marketsync_session=" + id}})
		tok, err := e.auth.AddToken(ctx, cli, name, "matrix", r)
		require.NoError(t, err)
		out = append(out, caller{name: string(r) + " token", role: r,
			header: []string{"Authorization", "Bearer " + tok.Secret}})
	}
	return out
}

// with adds the caller's credentials (and, for a session, its CSRF token) to a
// request's headers.
func (c caller) with(header ...string) []string {
	h := append([]string{}, c.header...)
	if c.csrf != "" {
		h = append(h, "X-CSRF-Token", c.csrf)
	}
	return append(h, header...)
}

// TestRoleActionMatrix: every role against every page, htmx action, API call and
// WebSocket: allowed when the role suffices, else 401 (nobody) or 403.
func TestRoleActionMatrix(t *testing.T) {
	t.Parallel()
	e := setup(t, options{latency: 300 * 1e6, auth: &auth.Config{}})
	callers := accounts(t, e)
	admin := callers[len(callers)-2]
	id := e.start(t, `{"start_date":"2025-03-03","end_date":"2025-03-07"}`, admin.with()...)
	addr := e.listen(t)

	type step struct {
		method, path string
		body         any
		need         market.Role
	}
	form := url.Values{"start_date": {"2025-03-10"}, "end_date": {"2025-03-10"}, "datasets": {"daily"}}
	steps := []step{
		{"GET", "/", nil, market.RoleViewer},
		{"GET", "/batches", nil, market.RoleViewer},
		{"GET", "/batches/" + id, nil, market.RoleViewer},
		{"GET", "/batches/" + id + "/errors", nil, market.RoleViewer},
		{"GET", "/coverage", nil, market.RoleViewer},
		{"GET", "/days/2025-03-03", nil, market.RoleViewer},
		{"GET", "/days/2025-03-03/csv", nil, market.RoleViewer},
		{"GET", "/api/v1/days/2025-03-03", nil, market.RoleViewer},
		{"GET", "/stocks/search?q=60", nil, market.RoleViewer},
		{"GET", "/stocks/600000.SH", nil, market.RoleViewer},
		{"GET", "/api/v1/bars?ts_code=600000.SH", nil, market.RoleViewer},
		{"GET", "/api/v1/bars.csv?ts_code=600000.SH", nil, market.RoleViewer},
		{"GET", "/api/v1/sync-status/sync/batch/active", nil, market.RoleViewer},
		{"GET", "/api/v1/sync-status/sync/batch/progress/" + id, nil, market.RoleViewer},
		{"GET", "/api/v1/sync-status/list", nil, market.RoleViewer},
		{"GET", "/api/v1/sync-status/sync/batch/" + id + "/errors", nil, market.RoleViewer},
		{"GET", "/api/v1/sync-status/sync/batches", nil, market.RoleViewer},
		{"GET", "/api/v1/batches/active", nil, market.RoleViewer},
		{"GET", "/api/v1/coverage?start=2025-03-01&end=2025-03-31", nil, market.RoleViewer},
		{"POST", "/batches", form, market.RoleOperator},
		{"POST", "/coverage/sync", url.Values{"days": {"2025-03-11"}, "dataset": {"daily"}}, market.RoleOperator},
		{"POST", "/api/v1/sync-status/sync/batch", `{"start_date":"2025-03-12","end_date":"2025-03-12"}`, market.RoleOperator},
		{"GET", "/metrics", nil, market.RoleViewer},
		{"GET", "/admin/users", nil, market.RoleAdmin},
		{"GET", "/admin/audit", nil, market.RoleAdmin},
		{"GET", "/settings", nil, market.RoleAdmin},
		{"POST", "/settings/schedules", url.Values{"dataset": {"nope"}}, market.RoleAdmin},
		{"POST", "/settings/schedules/999/delete", nil, market.RoleAdmin},
		{"GET", "/settings/alerts", nil, market.RoleAdmin},
		{"POST", "/settings/alerts", url.Values{"name": {""}}, market.RoleAdmin},
		{"POST", "/admin/users", url.Values{"name": {"x"}, "role": {"viewer"}, "password": {"short"}}, market.RoleAdmin},
	}
	for _, a := range market.Actions() {
		steps = append(steps,
			step{"POST", "/batches/" + id + "/" + string(a), nil, market.RoleOperator},
			step{"POST", "/api/v1/sync-status/sync/batch/" + id + "/" + string(a), nil, market.RoleOperator})
	}
	for _, c := range callers {
		for _, s := range steps {
			r := e.do(t, s.method, s.path, s.body, c.with("HX-Request", "true")...)
			allowed := c.role.AtLeast(s.need)
			switch {
			case allowed:
				require.NotContains(t, []int{401, 403}, r.status, "%s %s %s: %s", c.name, s.method, s.path, r.body)
			case c.role == "":
				require.Equal(t, 401, r.status, "%s %s %s: %s", c.name, s.method, s.path, r.body)
			default:
				require.Equal(t, 403, r.status, "%s %s %s: %s", c.name, s.method, s.path, r.body)
			}
		}
		// The live feeds need a viewer too.
		h := http.Header{}
		for i := 0; i+1 < len(c.header); i += 2 {
			h.Set(c.header[i], c.header[i+1])
		}
		conn, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws/dashboard", h)
		if c.role == "" {
			require.Error(t, err, c.name)
			require.Equal(t, 401, resp.StatusCode, c.name)
		} else {
			require.NoError(t, err, c.name)
			require.Equal(t, 101, resp.StatusCode)
			conn.Close()
		}
		if resp != nil {
			resp.Body.Close()
		}
	}

	// A page's GET without a session goes to the login page, and comes back after.
	r := e.do(t, "GET", "/batches/"+id, nil)
	require.Equal(t, 303, r.status)
	require.Equal(t, "/login?next=%2Fbatches%2F"+url.PathEscape(id), r.header.Get("Location"))
	r = e.do(t, "GET", "/api/v1/batches/active", nil)
	require.Equal(t, `Bearer realm="marketsync"`, r.header.Get("WWW-Authenticate"))
}

// TestCSRFAndForeignOrigins: a session's state-changing request needs its CSRF token;
// a token's does not (no cookie to ride on); a foreign Origin is refused whatever the
// credentials.
func TestCSRFAndForeignOrigins(t *testing.T) {
	t.Parallel()
	e := setup(t, options{auth: &auth.Config{}})
	callers := accounts(t, e)
	op, opToken := callers[3], callers[4]
	require.Equal(t, "operator session", op.name)
	body := `{"start_date":"2025-04-01","end_date":"2025-04-01"}`

	r := e.do(t, "POST", "/api/v1/sync-status/sync/batch", body, op.header...)
	require.Equal(t, 403, r.status, r.body)
	require.Contains(t, r.body, "CSRF")
	r = e.do(t, "POST", "/api/v1/sync-status/sync/batch", body, append(op.header, "X-CSRF-Token", "forged")...)
	require.Equal(t, 403, r.status, r.body)
	form := url.Values{"start_date": {"2025-04-01"}, "end_date": {"2025-04-01"}, "datasets": {"daily"}}
	r = e.do(t, "POST", "/batches", form, op.header...)
	require.Equal(t, 403, r.status, "a plain form without _csrf")
	form.Set("_csrf", op.csrf)
	r = e.do(t, "POST", "/batches", form, op.header...)
	require.Equal(t, 303, r.status, "a plain form with the session's token: %s", r.body)
	r = e.do(t, "POST", "/api/v1/sync-status/sync/batch", body, op.with()...)
	require.Equal(t, 200, r.status, r.body)
	r = e.do(t, "POST", "/api/v1/sync-status/sync/batch", body, opToken.header...)
	require.Equal(t, 200, r.status, "bearer tokens need no CSRF token: %s", r.body)

	for _, c := range []caller{op, opToken} {
		r = e.do(t, "POST", "/api/v1/sync-status/sync/batch", body, c.with("Origin", "http://evil.example")...)
		require.Equal(t, 403, r.status, "%s from another site: %s", c.name, r.body)
	}
	require.Equal(t, 3, countBatches(t, e))
}

func countBatches(t *testing.T, e *env) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM batches`).Scan(&n))
	return n
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// TestLoginLogoutAndTheAuditTrail goes through the pages as a person would: the login
// form (a wrong password, then the right one), a batch started and cancelled, a token
// made and revoked, a user added, logout; every step is in the audit trail, and the
// batch page says who cancelled it.
func TestLoginLogoutAndTheAuditTrail(t *testing.T) {
	t.Parallel()
	e := setup(t, options{latency: 300 * 1e6, auth: &auth.Config{}})
	ctx := context.Background()
	_, err := e.auth.AddUser(ctx, cli, "alice", market.RoleAdmin, "alice's password")
	require.NoError(t, err)

	r := e.do(t, "GET", "/login?next=/coverage", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, `name="next" value="/coverage"`)
	r = e.do(t, "POST", "/login", url.Values{"name": {"alice"}, "password": {"nope"}, "next": {"/coverage"}})
	require.Equal(t, 401, r.status)
	require.Contains(t, r.body, "Wrong user name or password")
	r = e.do(t, "POST", "/login", url.Values{"name": {"alice"}, "password": {"alice's password"}, "next": {"//evil.example"}})
	require.Equal(t, 303, r.status, r.body)
	require.Equal(t, "/", r.header.Get("Location"), "never sent to another site")
	cookie := r.header.Get("Set-Cookie")
	require.Contains(t, cookie, "HttpOnly")
	require.Contains(t, cookie, "SameSite=Lax")
	session := strings.SplitN(strings.TrimPrefix(cookie, "marketsync_session="), ";", 2)[0]
	h := []string{"Cookie", "marketsync_session=" + session}

	r = e.do(t, "GET", "/account", nil, h...)
	require.Equal(t, 200, r.status)
	m := csrfRe.FindStringSubmatch(r.body)
	require.NotNil(t, m, "the page's forms carry the CSRF token")
	csrf := m[1]
	require.Contains(t, r.body, `hx-headers="{&#34;X-CSRF-Token&#34;:&#34;`+csrf)
	hx := append(h, "X-CSRF-Token", csrf)

	id := e.start(t, `{"start_date":"2025-03-03","end_date":"2025-03-14"}`, hx...)
	for _, action := range []string{"pause", "resume", "cancel"} {
		r = e.do(t, "POST", "/batches/"+id+"/"+action, nil, append(hx, "HX-Request", "true")...)
		require.Equal(t, 200, r.status, "%s: %s", action, r.body)
	}
	final := e.wait(t, id, hx...)
	require.Equal(t, "alice", *final.CancelledBy)
	require.Equal(t, "alice", final.CreatedUser)
	r = e.do(t, "GET", "/batches/"+id, nil, h...)
	require.Contains(t, r.body, "alice")
	r = e.do(t, "POST", "/api/v1/sync-status/sync/batch/"+id+"/retry", nil, hx...)
	require.Equal(t, 200, r.status, "finish the remaining days: %s", r.body)

	r = e.do(t, "POST", "/account/tokens", url.Values{"name": {"cron"}, "role": {"viewer"}, "_csrf": {csrf}}, h...)
	require.Equal(t, 200, r.status, r.body)
	secret := regexp.MustCompile(`mst_[A-Za-z0-9_-]+`).FindString(r.body)
	require.NotEmpty(t, secret, "shown once")
	r = e.do(t, "GET", "/api/v1/batches/active", nil, "Authorization", "Bearer "+secret)
	require.Equal(t, 200, r.status)
	r = e.do(t, "GET", "/account", nil, h...)
	require.NotContains(t, r.body, secret, "never shown again")
	tokens, err := e.auth.Tokens(ctx, 0)
	require.NoError(t, err)
	r = e.do(t, "POST", fmt.Sprintf("/account/tokens/%d/revoke", tokens[0].ID), url.Values{"_csrf": {csrf}}, h...)
	require.Equal(t, 303, r.status, r.body)
	r = e.do(t, "GET", "/api/v1/batches/active", nil, "Authorization", "Bearer "+secret)
	require.Equal(t, 401, r.status, "revoked")

	r = e.do(t, "POST", "/admin/users", url.Values{"name": {"bob"}, "role": {"viewer"}, "password": {"bob's password"}, "_csrf": {csrf}}, h...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, `data-user="bob"`)

	r = e.do(t, "POST", "/logout", url.Values{"_csrf": {csrf}}, h...)
	require.Equal(t, 303, r.status)
	r = e.do(t, "GET", "/account", nil, h...)
	require.Equal(t, 303, r.status, "the session ended on the server")

	entries, _, err := store.AuditLog(ctx, e.pool, store.AuditFilter{Limit: 100})
	require.NoError(t, err)
	var seen []string
	for i := len(entries) - 1; i >= 0; i-- {
		en := entries[i]
		seen = append(seen, en.Actor+" "+en.Action)
		if slices.Contains([]string{market.AuditStart, "pause", "resume", "cancel", "retry"}, en.Action) {
			require.Equal(t, id, en.TaskID)
		}
	}
	require.Equal(t, []string{"test user_add", "alice login_failed", "alice login", "alice start", "alice pause",
		"alice resume", "alice cancel", "alice retry", "alice token_add", "alice token_revoke", "alice user_add", "alice logout"}, seen)
}

// TestAnonymousViewers: MARKETSYNC_ANONYMOUS=viewer lets everyone watch and nobody act
// without signing in; the pages hide what a viewer cannot do.
func TestAnonymousViewers(t *testing.T) {
	t.Parallel()
	e := setup(t, options{auth: &auth.Config{Anonymous: market.RoleViewer}})
	r := e.do(t, "GET", "/", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, `data-role="viewer"`)
	require.Contains(t, r.body, `data-testid="start-needs-operator"`)
	require.NotContains(t, r.body, `id="start-form"`)
	require.Contains(t, r.body, `href="/login?next=%2F"`, "a sign-in link")
	r = e.do(t, "POST", "/api/v1/sync-status/sync/batch", `{"start_date":"2025-04-01","end_date":"2025-04-01"}`)
	require.Equal(t, 403, r.status, r.body)
	require.Contains(t, r.json(t).Message, "anonymous is viewer; this needs operator")
}

// TestLoginIsRateLimited: after five failures an account is locked for a while, even
// for the right password, and says so with 429.
func TestLoginIsRateLimited(t *testing.T) {
	t.Parallel()
	e := setup(t, options{auth: &auth.Config{}})
	_, err := e.auth.AddUser(context.Background(), cli, "carol", market.RoleViewer, "carol's password")
	require.NoError(t, err)
	for range 5 {
		r := e.do(t, "POST", "/login", url.Values{"name": {"carol"}, "password": {"guess"}})
		require.Equal(t, 401, r.status)
	}
	r := e.do(t, "POST", "/login", url.Values{"name": {"carol"}, "password": {"carol's password"}})
	require.Equal(t, 429, r.status)
	require.NotEmpty(t, r.header.Get("Retry-After"))
	require.Empty(t, r.header.Get("Set-Cookie"))
}

// TestLogoutEndsOpenSockets: a live page's WebSocket ends when its session does (a
// logout in another tab), and one opened with a token when the token is revoked.
func TestLogoutEndsOpenSockets(t *testing.T) {
	t.Parallel()
	e := setup(t, options{auth: &auth.Config{Recheck: 50 * time.Millisecond}})
	ctx := context.Background()
	_, err := e.auth.AddUser(ctx, cli, "dave", market.RoleViewer, "dave's password")
	require.NoError(t, err)
	id, p, err := e.auth.Login(ctx, "dave", "dave's password", "192.0.2.9", "test")
	require.NoError(t, err)
	tok, err := e.auth.AddToken(ctx, cli, "dave", "wall", "")
	require.NoError(t, err)
	addr := e.listen(t)
	dial := func(k, v string) *websocket.Conn {
		conn, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws/dashboard", http.Header{k: {v}})
		require.NoError(t, err)
		resp.Body.Close()
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	closed := func(conn *websocket.Conn) int {
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				require.ErrorAs(t, err, &ce)
				return ce.Code
			}
		}
	}
	bySession := dial("Cookie", "marketsync_session="+id)
	byToken := dial("Authorization", "Bearer "+tok.Secret)

	require.NoError(t, e.auth.Logout(ctx, p, "192.0.2.9"))
	require.Equal(t, websocket.ClosePolicyViolation, closed(bySession))
	require.NoError(t, e.auth.RevokeToken(ctx, cli, tok.ID, 0))
	require.Equal(t, websocket.ClosePolicyViolation, closed(byToken))
}

// TestAccountEdges: what a review found. A token cannot manage its account (a viewer's
// token must not mint an admin's); a signed-in browser can sign in again as someone
// else; an admin saving their own unchanged row stays signed in; a signed-in viewer may
// do what anonymous visitors may; a user that is not there is not "no such batch".
func TestAccountEdges(t *testing.T) {
	t.Parallel()
	e := setup(t, options{auth: &auth.Config{Anonymous: market.RoleOperator}})
	ctx := context.Background()
	callers := accounts(t, e)
	viewer, admin, adminToken := callers[1], callers[5], callers[6]
	require.Equal(t, "admin session", admin.name)

	r := e.do(t, "POST", "/account/tokens", url.Values{"name": {"escalate"}, "role": {"admin"}}, adminToken.with()...)
	require.Equal(t, 403, r.status, r.body)
	r = e.do(t, "POST", "/account/sessions/end", nil, adminToken.with()...)
	require.Equal(t, 403, r.status, r.body)
	r = e.do(t, "POST", "/account/tokens", url.Values{"name": {"x"}, "role": {"admin"}}, viewer.with()...)
	require.Equal(t, 422, r.status, "a viewer's session cannot make an admin's token: %s", r.body)

	r = e.do(t, "POST", "/login", url.Values{"name": {"u-operator"}, "password": {"u-operator password"}}, viewer.header...)
	require.Equal(t, 303, r.status, "signing in as someone else needs no CSRF token: %s", r.body)

	u, err := store.UserByName(ctx, e.pool, "u-admin")
	require.NoError(t, err)
	r = e.do(t, "POST", fmt.Sprintf("/admin/users/%d", u.ID), url.Values{"role": {"admin"}}, admin.with()...)
	require.Equal(t, 200, r.status, r.body)
	r = e.do(t, "GET", "/admin/users", nil, admin.header...)
	require.Equal(t, 200, r.status, "still signed in after saving an unchanged row")

	r = e.do(t, "POST", "/api/v1/sync-status/sync/batch", `{"start_date":"2025-04-01","end_date":"2025-04-01"}`, viewer.with()...)
	require.Equal(t, 200, r.status, "signing in never takes away what anonymous visitors may: %s", r.body)

	r = e.do(t, "POST", "/admin/users/99999", url.Values{"role": {"viewer"}}, admin.with()...)
	require.Equal(t, 404, r.status)
	require.NotContains(t, r.body, "no such batch")
	require.Contains(t, r.body, "no such user")
}
