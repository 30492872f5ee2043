// Package pgtest gives each test package a fresh PostgreSQL database of its own on the
// real server (DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres), so
// LISTEN/NOTIFY and River's tables never leak between packages.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server tests use when DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL is the URL of the server tests run against, pointing at its maintenance
// database "postgres" whatever database DATABASE_URL names.
func ServerURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return WithDatabase(u, "postgres")
	}
	return DefaultURL
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// Main runs a test package inside a fresh database named after it and drops the
// database afterwards. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m, "engine") }
//
// It sets DATABASE_URL for the package's tests (and any processes they start) to the
// new database.
func Main(m *testing.M, name string) {
	os.Exit(run(m, name))
}

func run(m *testing.M, name string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	server := ServerURL()
	db := fmt.Sprintf("marketsync_test_%s_%d", unsafeChars.ReplaceAllString(strings.ToLower(name), "_"), os.Getpid())
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		cancel()
		fmt.Fprintf(os.Stderr, "pgtest: connecting to %s: %v\n", server, err)
		return 1
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: creating %s: %v\n", db, err)
		return 1
	}
	cancel()
	os.Setenv("DATABASE_URL", WithDatabase(server, db))
	code := m.Run()
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: dropping %s: %v\n", db, err)
	}
	conn.Close(ctx)
	return code
}

// WithDatabase returns server's URL pointing at database db instead.
func WithDatabase(server, db string) string {
	u, err := url.Parse(server)
	if err != nil || u.Scheme == "" {
		// A keyword/value connection string.
		return server + " dbname=" + db
	}
	u.Path = "/" + db
	return u.String()
}

// URL returns the package's database URL (set by Main).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		t.Fatal("pgtest: DATABASE_URL is not set; call pgtest.Main from TestMain")
	}
	return u
}
