// Package store is marketsync's PostgreSQL: the connection pool, the migrations (ours and
// River's, embedded in the binary), the COPY loader and the batch, day, error and coverage
// queries. It knows nothing of HTTP or of the queue's workers.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects a pool of at least minConns connections (more when the URL's
// pool_max_conns says so) to databaseURL and checks the connection. Every day in flight
// holds one connection for its whole load; size the pool for that plus the queue's own.
func Open(ctx context.Context, databaseURL string, minConns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parsing database URL: %w", err)
	}
	cfg.MaxConns = max(cfg.MaxConns, int32(minConns))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to %s: %w", Describe(cfg.ConnConfig), err)
	}
	return pool, nil
}

// Describe names the server, database and user of a connection config for messages,
// never its password (a connection string can carry one in three places).
func Describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("PostgreSQL at %s database %q as %q", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg.Database, cfg.User)
}

// DescribeURL is Describe for a connection string; one that does not parse is named
// only as such.
func DescribeURL(databaseURL string) string {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return "PostgreSQL (the connection string does not parse)"
	}
	return Describe(cfg)
}

// EnsureDatabase creates the database named in databaseURL when it does not exist yet,
// IsMissingDatabase reports whether err says the database named does not exist.
func IsMissingDatabase(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "3D000" // invalid_catalog_name
}

// connecting to the server's "postgres" database to do so.
func EnsureDatabase(ctx context.Context, databaseURL string) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("parsing database URL: %w", err)
	}
	name := cfg.Database
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("connecting to %s: %w", Describe(cfg), err)
	}
	cfg.Database = "postgres"
	conn, err = pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL to create database %q: %w", name, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil && !isDuplicateDatabase(err) {
		return fmt.Errorf("creating database %q: %w", name, err)
	}
	return nil
}

func isDuplicateDatabase(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P04"
}

// migrationLock is the advisory lock key under which processes migrate one at a time.
const migrationLock = 0x6d61726b // "mark"

// Migrate applies River's migrations and ours that are not applied yet, and returns the
// versions it applied. Processes starting together take turns under an advisory lock;
// each of our migrations is one transaction, so a failure leaves nothing half-done.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	return migrateThrough(ctx, pool, "")
}

// migrateThrough is Migrate stopping after our migration last ("" for all of them): a
// test brings a database to an older version, fills it, then migrates the rest.
func migrateThrough(ctx context.Context, pool *pgxpool.Pool, last string) ([]string, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return nil, fmt.Errorf("taking the migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)

	var applied []string
	// River's migrations run outside one big transaction: some add enum values that
	// later statements of the same version use.
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return nil, err
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("applying River's migrations: %w", err)
	}
	for _, v := range res.Versions {
		applied = append(applied, "river/"+strconv.Itoa(v.Version))
	}
	ours, err := applyOurs(ctx, conn.Conn(), last)
	if err != nil {
		return nil, err
	}
	return append(applied, ours...), nil
}

// applyOurs applies our migrations not applied yet, each in a transaction of its own,
// in name order, through last ("" for all), and returns the versions it applied.
func applyOurs(ctx context.Context, conn *pgx.Conn, last string) ([]string, error) {
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS marketsync_migrations (
		version    text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("creating the migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var applied []string
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		if last != "" && version > last {
			break
		}
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return nil, err
		}
		done := false
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, "INSERT INTO marketsync_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING", version)
			if err != nil || tag.RowsAffected() == 0 {
				done = true
				return err
			}
			_, err = tx.Exec(ctx, string(sql))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("applying migration %s: %w", version, err)
		}
		if !done {
			applied = append(applied, version)
		}
	}
	return applied, nil
}

// IsUnavailable reports whether err says PostgreSQL could not be reached or went away
// (refused or dropped connection, server shutting down or starting up), rather than
// that a statement failed: the caller may try again once the database is back.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var connErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &connErr):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown,
		// cannot connect now.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &netErr):
		return true
	}
	return pgconn.SafeToRetry(err) && !errors.Is(err, context.Canceled)
}
