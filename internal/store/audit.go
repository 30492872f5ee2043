package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEntry is one row of the audit trail: who did what, when, from where, through
// which door (web, api, cli, schedule), on which batch.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string
	Via    string
	Addr   string
	Action string
	TaskID string
	Detail string
}

// Audit appends an entry; At is the database's clock.
func Audit(ctx context.Context, db DB, e AuditEntry) error {
	var task *string
	if e.TaskID != "" {
		task = &e.TaskID
	}
	_, err := db.Exec(ctx, `INSERT INTO audit_log (actor, via, addr, action, task_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.Actor, e.Via, e.Addr, e.Action, task, e.Detail)
	return err
}

// AuditFilter selects entries; zero fields select all.
type AuditFilter struct {
	Actor  string
	Action string
	TaskID string
	Since  time.Time
	Until  time.Time
	Limit  int
	Offset int
}

// AuditLog lists the entries of f, newest first, and how many there are in all.
func AuditLog(ctx context.Context, db DB, f AuditFilter) ([]AuditEntry, int, error) {
	const where = `WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) AND ($3 = '' OR task_id = $3)
		AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)`
	var since, until *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	if !f.Until.IsZero() {
		until = &f.Until
	}
	args := []any{f.Actor, f.Action, f.TaskID, since, until}
	var total int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM audit_log `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.Query(ctx, `SELECT id, at, actor, via, addr, action, coalesce(task_id, ''), detail
		FROM audit_log `+where+` ORDER BY at DESC, id DESC LIMIT $6 OFFSET $7`, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AuditEntry])
	return out, total, err
}

// FailedLogins counts the failed logins since a time, for one account name and for one
// address: the login rate limit reads the audit trail, so it holds across processes. An
// account's count starts again after its last successful login and its last password
// change (`marketsync user password NAME` unlocks it).
func FailedLogins(ctx context.Context, db DB, name, addr string, since time.Time) (byName, byAddr int, err error) {
	err = db.QueryRow(ctx, `
		WITH u AS (SELECT greatest(password_at, last_login_at) AS reset FROM users WHERE name = $1)
		SELECT count(*) FILTER (WHERE actor = $1 AND at > coalesce((SELECT reset FROM u), '-infinity')),
			count(*) FILTER (WHERE addr = $2)
		FROM audit_log WHERE action = 'login_failed' AND at >= $3`, name, addr, since).Scan(&byName, &byAddr)
	return byName, byAddr, err
}
