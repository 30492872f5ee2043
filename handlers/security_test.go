package handlers_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/handlers"
)

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	for _, path := range []string{"/", "/batches", "/nope", "/api/v1/sync-status/sync/batches", "/static/css/app.css", "/healthz"} {
		r := e.do(t, "GET", path, nil)
		csp := r.header.Get("Content-Security-Policy")
		require.Contains(t, csp, "script-src 'self'", path)
		require.Contains(t, csp, "frame-ancestors 'none'", path)
		require.NotContains(t, csp, "unsafe-eval", path)
		for _, d := range strings.Split(csp, ";") {
			if strings.HasPrefix(strings.TrimSpace(d), "script-src") || strings.HasPrefix(strings.TrimSpace(d), "default-src") {
				require.NotContains(t, d, "unsafe-inline", path)
			}
		}
		require.Equal(t, "DENY", r.header.Get("X-Frame-Options"), path)
		require.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"), path)
		require.NotEmpty(t, r.header.Get("Referrer-Policy"), path)
	}
	// The pages themselves hold no inline script or handler the CSP would block.
	page := e.do(t, "GET", "/coverage", nil).body + e.do(t, "GET", "/", nil).body
	bad := regexp.MustCompile(`<script>|<script [^>]*>[^<]|\son(change|click|submit|load)=`)
	require.Empty(t, bad.FindAllString(page, -1))
}

func TestCrossSiteRequestsAreRefused(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	start := form("start_date", "2019-03-04", "end_date", "2019-03-05", "datasets", "daily")
	apiBody := `{"start_date":"2019-03-04","end_date":"2019-03-05"}`
	refused := []struct {
		name   string
		path   string
		body   any
		header []string
	}{
		{"form from another site", "/batches", start, []string{"Origin", "http://evil.example"}},
		{"form from a sandboxed frame", "/batches", start, []string{"Origin", "null"}},
		{"form, Sec-Fetch-Site only", "/batches", start, []string{"Sec-Fetch-Site", "cross-site"}},
		{"form, sibling subdomain", "/batches", start, []string{"Sec-Fetch-Site", "same-site"}},
		{"form, Referer only", "/batches", start, []string{"Referer", "http://evil.example/page"}},
		{"coverage sync", "/coverage/sync", form("days", "2025-06-02"), []string{"Origin", "http://evil.example"}},
		{"page action", "/batches/x/cancel", nil, []string{"Origin", "https://evil.example"}},
		{"API start", "/api/v1/sync-status/sync/batch", apiBody, []string{"Origin", "http://evil.example"}},
		{"API cancel", "/api/v1/sync-status/sync/batch/x/cancel", nil, []string{"Origin", "http://evil.example"}},
		{"same host, other port", "/batches", start, []string{"Origin", "http://example.com:8001"}},
	}
	for _, c := range refused {
		r := e.do(t, "POST", c.path, c.body, c.header...)
		require.Equal(t, 403, r.status, "%s: %s", c.name, r.body)
		if strings.HasPrefix(c.path, "/api/") {
			require.Contains(t, r.json(t).Message, "cross-site request refused", c.name)
		} else {
			require.Contains(t, r.body, "this request came from another site", c.name)
		}
	}
	// Nothing was started.
	all := e.do(t, "GET", "/api/v1/sync-status/sync/batches?limit=1000", nil)
	require.NotContains(t, all.body, `"2019-03-04_2019-03-05_`)

	// The same requests from this site, or from no browser at all, go through.
	allowed := [][]string{
		{"Origin", "http://example.com"},
		{"Origin", "http://EXAMPLE.com:80"},
		{"Sec-Fetch-Site", "same-origin"},
		{"Referer", "http://example.com/"},
		{},
	}
	for _, h := range allowed {
		r := e.do(t, "POST", "/api/v1/sync-status/sync/batch", apiBody, h...)
		require.Equal(t, 200, r.status, "%v: %s", h, r.body)
	}
	r := e.do(t, "POST", "/batches", start, htmx("Origin", "http://example.com")...)
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, "/batches/2019-03-04_2019-03-05_")
}

func TestAPIAcceptsOnlyJSONBodies(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	for _, ctype := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		req := `{"start_date":"2025-06-02","end_date":"2025-06-02"}`
		r := e.doRaw(t, "POST", "/api/v1/sync-status/sync/batch", req, ctype)
		require.Equal(t, 415, r.status, "%q: %s", ctype, r.body)
		require.Contains(t, r.json(t).Message, "application/json")
	}
	r := e.doRaw(t, "POST", "/api/v1/sync-status/sync/batch", `{"start_date":"2025-06-02","end_date":"2025-06-02"}`, "application/json; charset=utf-8")
	require.Equal(t, 200, r.status, r.body)
	// Actions without a body need no type: curl -X POST …/cancel.
	r = e.doRaw(t, "POST", "/api/v1/sync-status/sync/batch/nope/cancel", "", "")
	require.Equal(t, 404, r.status, r.body)
}

func TestForeignWebSocketsAreRefused(t *testing.T) {
	t.Parallel()
	e := setup(t, options{cors: []string{"http://localhost:3000"}})
	addr := e.listen(t)
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws/dashboard", http.Header{"Origin": {"http://evil.example"}})
	require.Error(t, err)
	require.Equal(t, 403, resp.StatusCode)
	resp.Body.Close()
	// This site's pages, the trusted origins' and clients that are not browsers (no
	// Origin) are let in.
	for _, h := range []http.Header{{"Origin": {"http://" + addr}}, {"Origin": {"http://localhost:3000"}}, nil} {
		conn, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws/dashboard", h)
		require.NoError(t, err, "%v", h)
		resp.Body.Close()
		conn.Close()
	}
}

func TestParseOrigins(t *testing.T) {
	t.Parallel()
	got, err := handlers.ParseOrigins(" http://localhost:3000, HTTPS://Guru.Example.com:443 ,")
	require.NoError(t, err)
	require.Equal(t, []string{"http://localhost:3000", "https://guru.example.com"}, got)
	for _, bad := range []string{"localhost:3000", "http://", "ftp://x", "http://x/path", "http://x?q=1", "*"} {
		_, err := handlers.ParseOrigins(bad)
		require.Error(t, err, bad)
	}
}
