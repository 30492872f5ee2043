package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/pgtest"
)

func TestServeRefusesABadCORSOrigin(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"},
		env(pgtest.EmptyDB(t), "MARKETSYNC_CORS_ORIGINS", "http://localhost:3000,localhost:3001"), &stdout, &stderr)
	require.Equal(t, 2, code(err))
	require.Contains(t, err.Error(), `MARKETSYNC_CORS_ORIGINS: "localhost:3001" is not an origin`)
	require.NotContains(t, err.Error(), "\n")
}

// TestServeLetsTheOldPageIn starts serve with the old page's origins in
// MARKETSYNC_CORS_ORIGINS and sends the page's preflight and a GET from each.
func TestServeLetsTheOldPageIn(t *testing.T) {
	t.Setenv("MARKETSYNC_CORS_ORIGINS", "http://localhost:3000, http://127.0.0.1:3000")
	s := startServer(t, pgtest.NewDB(t), "cors")
	for _, origin := range []string{"http://localhost:3000", "http://127.0.0.1:3000"} {
		req, err := http.NewRequest(http.MethodOptions, s.url("/api/v1/sync-status/sync/batch"), nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := httpClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		require.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
		require.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
		require.Contains(t, strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "content-type")

		req, err = http.NewRequest(http.MethodGet, s.url("/api/v1/sync-status/list?page=1&page_size=50"), nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		resp, err = httpClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
