package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/marketsync/marketsync/internal/market"
)

// User is an account. PasswordHash is only read where a password is checked.
type User struct {
	ID           int64
	Name         string
	Role         market.Role
	Disabled     bool
	CreatedAt    time.Time
	CreatedBy    string
	LastLoginAt  *time.Time
	PasswordHash string
}

const userColumns = `id, name, role, disabled, created_at, created_by, last_login_at, password_hash`

func scanUser(row pgx.Row) (*User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Name, &u.Role, &u.Disabled, &u.CreatedAt, &u.CreatedBy, &u.LastLoginAt, &u.PasswordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no such user", market.ErrNotFound)
	}
	return &u, err
}

// AddUser creates an account; a name taken already is a conflict.
func AddUser(ctx context.Context, db DB, name string, role market.Role, passwordHash, by string) (*User, error) {
	u, err := scanUser(db.QueryRow(ctx, `INSERT INTO users (name, role, password_hash, created_by)
		VALUES ($1, $2, $3, $4) RETURNING `+userColumns, name, role, passwordHash, by))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return nil, fmt.Errorf("%w: a user called %q exists already", market.ErrConflict, name)
	}
	return u, err
}

// UserByName finds an account by name.
func UserByName(ctx context.Context, db DB, name string) (*User, error) {
	u, err := scanUser(db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	if errors.Is(err, market.ErrNotFound) {
		return nil, fmt.Errorf("%w: no user called %q", market.ErrNotFound, name)
	}
	return u, err
}

// UserByID finds an account by id.
func UserByID(ctx context.Context, db DB, id int64) (*User, error) {
	return scanUser(db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// Users lists every account by name.
func Users(ctx context.Context, db DB) ([]User, error) {
	rows, err := db.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) {
		u, err := scanUser(r)
		if err != nil {
			return User{}, err
		}
		return *u, nil
	})
}

// CountUsers counts the accounts (an empty table takes MARKETSYNC_ADMIN_PASSWORD).
func CountUsers(ctx context.Context, db DB) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// CountAdmins counts the admins that can still sign in.
func CountAdmins(ctx context.Context, db DB) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled`).Scan(&n)
	return n, err
}

// UpdateUser sets an account's role and whether it is disabled.
func UpdateUser(ctx context.Context, db DB, id int64, role market.Role, disabled bool) error {
	tag, err := db.Exec(ctx, `UPDATE users SET role = $2, disabled = $3 WHERE id = $1`, id, role, disabled)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: no such user", market.ErrNotFound)
	}
	return err
}

// SetPassword replaces an account's password hash and ends its sessions, all but keep
// (the one that changed it, if any).
func SetPassword(ctx context.Context, db DB, id int64, hash string, keep []byte) error {
	tag, err := db.Exec(ctx, `UPDATE users SET password_hash = $2, password_at = now() WHERE id = $1`, id, hash)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: no such user", market.ErrNotFound)
	}
	_, err = db.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id_hash <> coalesce($2, ''::bytea)`, id, keep)
	return err
}

// RemoveUser deletes an account with its sessions and tokens; the audit trail keeps its
// name.
func RemoveUser(ctx context.Context, db DB, id int64) error {
	tag, err := db.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: no such user", market.ErrNotFound)
	}
	return err
}

// Session is a signed-in browser with its user.
type Session struct {
	IDHash   []byte
	CSRF     string
	LastSeen time.Time
	User     User
}

// CreateSession records a new session of a user and the time of the login.
func CreateSession(ctx context.Context, db DB, idHash []byte, userID int64, csrf, addr, agent string) error {
	if _, err := db.Exec(ctx, `INSERT INTO sessions (id_hash, user_id, csrf, addr, user_agent)
		VALUES ($1, $2, $3, $4, $5)`, idHash, userID, csrf, addr, agent); err != nil {
		return err
	}
	_, err := db.Exec(ctx, `UPDATE users SET last_login_at = now() WHERE id = $1`, userID)
	return err
}

// SessionByHash finds a session seen within idle whose user can sign in, and notes
// that it is seen now (at most once a minute, to spare the writes).
func SessionByHash(ctx context.Context, db DB, idHash []byte, idle time.Duration) (*Session, error) {
	var s Session
	u := &s.User
	err := db.QueryRow(ctx, `SELECT s.id_hash, s.csrf, s.last_seen, u.id, u.name, u.role, u.disabled,
			u.created_at, u.created_by, u.last_login_at, ''
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1 AND s.last_seen > now() - $2::interval AND NOT u.disabled`,
		idHash, idle.String()).Scan(&s.IDHash, &s.CSRF, &s.LastSeen, &u.ID, &u.Name, &u.Role, &u.Disabled,
		&u.CreatedAt, &u.CreatedBy, &u.LastLoginAt, &u.PasswordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no such session", market.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if time.Since(s.LastSeen) > time.Minute {
		_, err = db.Exec(ctx, `UPDATE sessions SET last_seen = now() WHERE id_hash = $1`, idHash)
	}
	return &s, err
}

// EndSession deletes one session.
func EndSession(ctx context.Context, db DB, idHash []byte) error {
	_, err := db.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
	return err
}

// EndSessions deletes every session of a user, and returns how many there were.
func EndSessions(ctx context.Context, db DB, userID int64) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	return tag.RowsAffected(), err
}

// CountSessions counts a user's sessions still open within idle.
func CountSessions(ctx context.Context, db DB, userID int64, idle time.Duration) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE user_id = $1 AND last_seen > now() - $2::interval`,
		userID, idle.String()).Scan(&n)
	return n, err
}

// DropIdleSessions deletes the sessions not seen within idle.
func DropIdleSessions(ctx context.Context, db DB, idle time.Duration) error {
	_, err := db.Exec(ctx, `DELETE FROM sessions WHERE last_seen <= now() - $1::interval`, idle.String())
	return err
}

// Token is an API token, without its secret.
type Token struct {
	ID         int64
	UserID     int64
	UserName   string
	Name       string
	Role       market.Role
	Hint       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	// UserRole is the role of the token's user now; UserDisabled whether it is disabled.
	UserRole     market.Role
	UserDisabled bool
}

const tokenColumns = `t.id, t.user_id, u.name, t.name, t.role, t.hint, t.created_at, t.last_used_at, t.revoked_at,
	u.role, u.disabled`

func scanToken(row pgx.Row) (Token, error) {
	var t Token
	err := row.Scan(&t.ID, &t.UserID, &t.UserName, &t.Name, &t.Role, &t.Hint, &t.CreatedAt, &t.LastUsedAt,
		&t.RevokedAt, &t.UserRole, &t.UserDisabled)
	return t, err
}

// AddToken records a token of a user by the hash of its secret.
func AddToken(ctx context.Context, db DB, userID int64, name string, role market.Role, hash []byte, hint string) (int64, error) {
	var id int64
	err := db.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, role, token_hash, hint)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, userID, name, role, hash, hint).Scan(&id)
	return id, err
}

// TokenByHash finds a token that is not revoked by the hash of its secret, and notes
// that it is used now (at most once a minute).
func TokenByHash(ctx context.Context, db DB, hash []byte) (*Token, error) {
	t, err := scanToken(db.QueryRow(ctx, `SELECT `+tokenColumns+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no such token", market.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if t.LastUsedAt == nil || time.Since(*t.LastUsedAt) > time.Minute {
		_, err = db.Exec(ctx, `UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, t.ID)
	}
	return &t, err
}

// TokenByID finds a token, revoked or not.
func TokenByID(ctx context.Context, db DB, id int64) (*Token, error) {
	t, err := scanToken(db.QueryRow(ctx, `SELECT `+tokenColumns+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no such token", market.ErrNotFound)
	}
	return &t, err
}

// Tokens lists the tokens of one user (userID > 0) or of everyone, newest first.
func Tokens(ctx context.Context, db DB, userID int64) ([]Token, error) {
	rows, err := db.Query(ctx, `SELECT `+tokenColumns+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE $1 = 0 OR t.user_id = $1 ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC, t.id DESC`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) { return scanToken(r) })
}

// RevokeToken revokes a token; owner > 0 limits it to that user's tokens. It returns the
// token as it was.
func RevokeToken(ctx context.Context, db DB, id, owner int64) (*Token, error) {
	t, err := scanToken(db.QueryRow(ctx, `WITH r AS (
			UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
			WHERE id = $1 AND ($2 = 0 OR user_id = $2) RETURNING *)
		SELECT `+tokenColumns+` FROM r t JOIN users u ON u.id = t.user_id`, id, owner))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no such token", market.ErrNotFound)
	}
	return &t, err
}
