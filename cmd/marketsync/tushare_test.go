package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/engine"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/source/tushare/tusharetest"
)

// TestTushareSyncVerifyAndTheTokenNeverLeaks syncs four days of three datasets from a
// fake Tushare whose first daily answer repeats the token in its error message, verifies
// them, spoils one row and verifies again, then serves the batch: the token appears in
// no log line, page, API answer or row of any table.
func TestTushareSyncVerifyAndTheTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	fake := tusharetest.New(t, nil)
	fake.Inject("daily", tusharetest.FaultEchoToken, 1)
	vars := []string{"TUSHARE_TOKEN", fake.Token, "TUSHARE_URL", fake.URL}
	var logs syncBuffer // every line any command wrote

	var stdout bytes.Buffer
	err := run(ctx, []string{"sync", "--source", "tushare", "--start", "2025-06-03", "--end", "2025-06-06",
		"--dataset", "daily,adj_factor,daily_basic", "--json"}, env(db, vars...), &stdout, &logs)
	require.NoError(t, err, logs.String())
	logs.Write(stdout.Bytes())
	var snap market.Snapshot
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &snap))
	require.Equal(t, market.BatchCompleted, snap.Status)
	require.Equal(t, "tushare", snap.Source)
	require.False(t, snap.Synthetic)
	require.Equal(t, 12, snap.Success, "4 days of 3 datasets")
	require.Contains(t, logs.String(), "[redacted]", "the echoed token was met, and scrubbed")

	stdout.Reset()
	err = run(ctx, []string{"verify", "--source", "tushare", "--start", "2025-06-03", "--end", "2025-06-06",
		"--dataset", "daily,adj_factor"}, env(db, vars...), &stdout, &logs)
	require.NoError(t, err, stdout.String())
	require.Equal(t, 8, strings.Count(stdout.String(), " OK "), stdout.String())
	logs.Write(stdout.Bytes())

	conn, err := pgx.Connect(ctx, db)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `UPDATE daily_bar SET close = close + 0.01
		WHERE trade_date = '2025-06-05' AND ts_code = (SELECT min(ts_code) FROM daily_bar WHERE trade_date = '2025-06-05')`)
	require.NoError(t, err)
	stdout.Reset()
	err = run(ctx, []string{"verify", "--source", "tushare", "--start", "2025-06-03", "--end", "2025-06-06"},
		env(db, vars...), &stdout, &logs)
	require.Equal(t, 1, code(err), stdout.String())
	require.Contains(t, stdout.String(), "2025-06-05 daily DIFFERS", stdout.String())
	require.Equal(t, 3, strings.Count(stdout.String(), " OK "), stdout.String())
	logs.Write(stdout.Bytes())
	var differs, ok int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE NOT verified_ok), count(*) FILTER (WHERE verified_ok)
		FROM coverage WHERE dataset = 'daily' AND source = 'tushare'`).Scan(&differs, &ok))
	require.Equal(t, [2]int{1, 3}, [2]int{differs, ok}, "coverage marks what verifying found")

	srv := startServerEnv(t, db, "tushare", []string{"TUSHARE_TOKEN=" + fake.Token, "TUSHARE_URL=" + fake.URL}, "--source", "tushare")
	for _, path := range []string{"/", "/batches", "/batches/" + snap.TaskID, "/batches/" + snap.TaskID + "/errors",
		"/coverage?dataset=daily&year=2025", "/healthz", "/api/v1/sync-status/sync/batches",
		"/api/v1/sync-status/sync/batch/progress/" + snap.TaskID, "/api/v1/sync-status/sync/batch/" + snap.TaskID + "/errors",
		"/api/v1/coverage?dataset=daily&start=2025-06-01&end=2025-06-30", "/api/v1/sync-status/list"} {
		resp, err := http.Get(srv.url(path))
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode, "%s: %s", path, body)
		logs.Write(body)
		if strings.HasSuffix(path, "/errors") {
			require.Contains(t, string(body), "[redacted]", "%s shows the scrubbed error", path)
		}
	}
	_, _ = srv.terminate()
	logs.Write([]byte(srv.log.String()))
	require.NotContains(t, logs.String(), fake.Token, "logs, output, pages and API answers")
	require.NotContains(t, dumpDatabase(t, conn), fake.Token, "the database")
}

// dumpDatabase returns the text of every row of every table in the database.
func dumpDatabase(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name)
		FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Greater(t, len(tables), 10)
	var dump strings.Builder
	for _, table := range tables {
		var text *string
		require.NoError(t, conn.QueryRow(ctx, "SELECT string_agg(t::text, E'\\n') FROM "+table+" t").Scan(&text))
		if text != nil {
			dump.WriteString(*text)
		}
	}
	require.Contains(t, dump.String(), "[redacted]", "the scrubbed error is stored")
	return dump.String()
}

// TestTushareBadTokenFailsAtOnce: a token Tushare rejects fails the batch at once, exit
// 1, saying so, after the calls already in flight rather than a round of retries.
func TestTushareBadTokenFailsAtOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	fake := tusharetest.New(t, nil)
	var stdout bytes.Buffer
	var stderr syncBuffer
	began := time.Now()
	err := run(context.Background(), []string{"sync", "--source", "tushare", "--start", "2025-06-03", "--end", "2025-06-13"},
		env(db, "TUSHARE_TOKEN", "not-the-token", "TUSHARE_URL", fake.URL), &stdout, &stderr)
	require.Equal(t, 1, code(err), stderr.String())
	require.Contains(t, stderr.String(), "Tushare rejected the token")
	require.NotContains(t, stderr.String(), "not-the-token")
	calls := fake.Stats("daily").BadToken
	t.Logf("failed after %v and %d calls", time.Since(began).Round(time.Millisecond), calls)
	require.GreaterOrEqual(t, calls, 1)
	require.Less(t, calls, 9, "fewer calls than the 9 trading days: the first refusal ends the batch, nothing is retried")

	// Without a token, tushare is not a source: a usage error, nothing created.
	err = run(context.Background(), []string{"sync", "--source", "tushare", "--start", "2025-06-03"}, env(db), &stdout, &stderr)
	require.Equal(t, 2, code(err))
}

// TestSourcesFromTheEnvironment: which sources a process offers, from its environment.
func TestSourcesFromTheEnvironment(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	cfg, err := appConfig(env(""), log, engine.Config{}, "")
	require.NoError(t, err)
	require.Equal(t, "demo", cfg.SourceName)
	require.Nil(t, cfg.Tushare)
	require.Nil(t, cfg.Baostock, "not offered unless asked for")
	require.Empty(t, cfg.StockGuruURL)

	cfg, err = appConfig(env("", "BAOSTOCK_ADDR", "127.0.0.1:10030", "STOCKGURU_DATABASE_URL", "postgres://old/db",
		"MARKETSYNC_SOURCE", "stockguru"), log, engine.Config{}, "")
	require.NoError(t, err)
	require.Equal(t, "stockguru", cfg.SourceName)
	require.Equal(t, "127.0.0.1:10030", cfg.Baostock.Addr)
	require.Equal(t, "postgres://old/db", cfg.StockGuruURL)

	cfg, err = appConfig(env(""), log, engine.Config{}, "baostock")
	require.NoError(t, err)
	require.NotNil(t, cfg.Baostock, "the default is offered")

	for name, vars := range map[string][]string{
		"stockguru without its database": {"MARKETSYNC_SOURCE", "stockguru"},
		"tushare without its token":      {"MARKETSYNC_SOURCE", "tushare"},
		"an unknown source":              {"MARKETSYNC_SOURCE", "akshare"},
		"a bad Baostock timeout":         {"BAOSTOCK_ADDR", "x:1", "BAOSTOCK_TIMEOUT", "soon"},
	} {
		_, err := appConfig(env("", vars...), log, engine.Config{}, "")
		require.Equal(t, 2, code(err), name)
	}
}

// TestMetricsTokenFromTheEnvironment: MARKETSYNC_METRICS_TOKEN reaches the app; unset,
// /metrics answers anyone.
func TestMetricsTokenFromTheEnvironment(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	cfg, err := appConfig(env(""), log, engine.Config{}, "")
	require.NoError(t, err)
	require.Empty(t, cfg.MetricsToken)
	cfg, err = appConfig(env("", "MARKETSYNC_METRICS_TOKEN", "scrape-s3cret\n"), log, engine.Config{}, "")
	require.NoError(t, err)
	require.Equal(t, "scrape-s3cret", cfg.MetricsToken)
}
