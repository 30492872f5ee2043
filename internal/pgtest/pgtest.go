// Package pgtest gives every test a fresh PostgreSQL database of its own on the real
// server (DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres), so tests never
// see each other's batches, rows, coverage, queue or notifications, and run in any order
// and any number of times.
//
// It is cheap: Main builds one migrated template database per test package, and NewDB
// copies it for each test (CREATE DATABASE … TEMPLATE), dropping the copy when the test
// ends.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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

// Migrate brings a database up to date; store.Migrate is one. (pgtest takes it as an
// argument: store's own tests use pgtest.)
type Migrate func(ctx context.Context, pool *pgxpool.Pool) ([]string, error)

// state is the test package's: set once by Main before any test runs, read by NewDB.
// It is the one package-level variable here, because a test reaches its package's
// setup only through TestMain.
var state struct {
	server   string        // the maintenance database's URL
	prefix   string        // of every database of this test process
	template string        // the migrated template
	admin    *pgxpool.Pool // on the maintenance database: creates and drops
	seq      atomic.Int64
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// Main runs a test package: it builds the package's template database, migrated by
// migrate (nil: an empty database), runs the tests, and drops the template. Call it
// from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m, "engine", store.Migrate) }
//
// Each test then takes a copy of the template with NewDB.
func Main(m *testing.M, name string, migrate Migrate) {
	os.Exit(run(m, name, migrate))
}

func run(m *testing.M, name string, migrate Migrate) int {
	if err := setUp(name, migrate); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		tearDown()
		return 1
	}
	code := m.Run()
	tearDown()
	return code
}

// setUp connects to the server and builds the template.
func setUp(name string, migrate Migrate) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	state.server = ServerURL()
	state.prefix = fmt.Sprintf("marketsync_test_%s_%d", unsafeChars.ReplaceAllString(strings.ToLower(name), "_"), os.Getpid())
	state.template = state.prefix + "_template"
	admin, err := pgxpool.New(ctx, state.server)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", state.server, err)
	}
	state.admin = admin
	if err := dropDatabase(ctx, state.template); err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(state.template)); err != nil {
		return fmt.Errorf("creating %s: %w", state.template, err)
	}
	if migrate == nil {
		return nil
	}
	pool, err := pgxpool.New(ctx, WithDatabase(state.server, state.template))
	if err != nil {
		return err
	}
	// A template is copied only while nobody is connected to it: close at once.
	defer pool.Close()
	if _, err := migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrating %s: %w", state.template, err)
	}
	return nil
}

func tearDown() {
	if state.admin == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dropDatabase(ctx, state.template); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
	state.admin.Close()
}

// NewDB creates a database for this test alone, a copy of the package's template (so
// migrated when Main was given a migration), and returns its URL. The database is
// dropped when the test ends, whoever is still connected to it.
func NewDB(t testing.TB) string {
	t.Helper()
	db := dbName(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := state.admin.Exec(ctx, "CREATE DATABASE "+ident(db)+" TEMPLATE "+ident(state.template)); err != nil {
		t.Fatalf("pgtest: creating %s: %v", db, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, db); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return WithDatabase(state.server, db)
}

// Pool returns a pool of up to 10 connections on a new database of this test's (see
// NewDB), closed when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(NewDB(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.MaxConns = 10
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// EmptyDB returns the URL of a database for this test that does not exist yet (a
// program under test creates and migrates it); it is dropped, if it exists, when the
// test ends.
func EmptyDB(t testing.TB) string {
	t.Helper()
	db := dbName(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, db); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return WithDatabase(state.server, db)
}

// dbName names a new database of this process.
func dbName(t testing.TB) string {
	t.Helper()
	if state.admin == nil {
		t.Fatal("pgtest: call pgtest.Main from TestMain")
	}
	return fmt.Sprintf("%s_%d", state.prefix, state.seq.Add(1))
}

// dropDatabase drops db if it exists, disconnecting whoever is still on it.
func dropDatabase(ctx context.Context, db string) error {
	if _, err := state.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(db)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping %s: %w", db, err)
	}
	return nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }
