package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/pgtest"
	"github.com/marketsync/marketsync/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m, "auth", store.Migrate) }

var cli = market.Actor{By: market.OriginCLI, User: "cli"}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h := auth.HashPassword("correct horse battery")
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"), h)
	require.NotEqual(t, h, auth.HashPassword("correct horse battery"), "salted")
	ok, err := auth.CheckPassword(h, "correct horse battery")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = auth.CheckPassword(h, "correct horse batterY")
	require.NoError(t, err)
	require.False(t, ok)
	_, err = auth.CheckPassword("$2a$10$bcrypt", "x")
	require.ErrorIs(t, err, auth.ErrBadHash)
}

func TestLoginSessionsAndLockout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := auth.New(pool, &auth.Config{MaxFailures: 3, MaxFailuresPerAddr: 10})
	_, err := s.AddUser(ctx, cli, "alice", market.RoleOperator, "short")
	require.ErrorIs(t, err, market.ErrInvalidInput)
	_, err = s.AddUser(ctx, cli, "alice", market.RoleOperator, "alice's long password")
	require.NoError(t, err)
	_, err = s.AddUser(ctx, cli, "alice", market.RoleViewer, "another long password")
	require.ErrorIs(t, err, market.ErrConflict)

	id, p, err := s.Login(ctx, "alice", "alice's long password", "10.0.0.1", "test")
	require.NoError(t, err)
	require.Equal(t, market.RoleOperator, p.Role)
	got, err := s.Session(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "alice", got.Name)
	require.Equal(t, p.CSRF, got.CSRF)
	id2, _, err := s.Login(ctx, "alice", "alice's long password", "10.0.0.2", "test")
	require.NoError(t, err)
	require.NotEqual(t, id, id2, "every login is a new session")

	require.NoError(t, s.Logout(ctx, got, "10.0.0.1"))
	got, err = s.Session(ctx, id)
	require.NoError(t, err)
	require.Nil(t, got, "logged out")

	for range 3 {
		_, _, err = s.Login(ctx, "alice", "wrong", "10.0.0.3", "test")
		var le *auth.LoginError
		require.ErrorAs(t, err, &le)
		require.False(t, le.Locked)
	}
	_, _, err = s.Login(ctx, "alice", "alice's long password", "10.0.0.4", "test")
	var le *auth.LoginError
	require.ErrorAs(t, err, &le)
	require.True(t, le.Locked, "the right password does not help once the name is locked")
	_, _, err = s.Login(ctx, "nobody", "whatever it is", "10.0.0.3", "test")
	require.ErrorAs(t, err, &le)
	require.False(t, le.Locked, "another name from the same address is not locked yet")

	_, total, err := s.AuditLog(ctx, store.AuditFilter{Actor: "alice", Action: market.AuditLoginFailed, Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 3, total)
	entries, _, err := s.AuditLog(ctx, store.AuditFilter{Actor: "alice", Action: market.AuditLoginLocked, Limit: 10})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "10.0.0.4", entries[0].Addr)

	// Disabling a user ends their sessions.
	u, err := store.UserByName(ctx, pool, "alice")
	require.NoError(t, err)
	_, err = s.AddUser(ctx, cli, "root", market.RoleAdmin, "root's long password")
	require.NoError(t, err)
	require.NoError(t, s.UpdateUser(ctx, cli, u.ID, market.RoleOperator, true))
	got, err = s.Session(ctx, id2)
	require.NoError(t, err)
	require.Nil(t, got)
}

func TestSessionsEndWhenIdle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := auth.New(pool, &auth.Config{Idle: time.Hour})
	_, err := s.AddUser(ctx, cli, "bob", market.RoleViewer, "bob's long password")
	require.NoError(t, err)
	id, _, err := s.Login(ctx, "bob", "bob's long password", "", "")
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE sessions SET last_seen = now() - interval '61 minutes'`)
	require.NoError(t, err)
	got, err := s.Session(ctx, id)
	require.NoError(t, err)
	require.Nil(t, got, "idle for more than an hour")
}

func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := auth.New(pool, nil)
	_, err := s.AddUser(ctx, cli, "carol", market.RoleOperator, "carol's long password")
	require.NoError(t, err)
	_, err = s.AddToken(ctx, cli, "carol", "cron", market.RoleAdmin)
	require.ErrorIs(t, err, market.ErrInvalidInput, "no more than the user's role")

	tok, err := s.AddToken(ctx, cli, "carol", "cron", "")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(tok.Secret, auth.TokenPrefix))
	p, err := s.Token(ctx, tok.Secret)
	require.NoError(t, err)
	require.Equal(t, "carol", p.Name)
	require.Equal(t, market.RoleOperator, p.Role)

	var stored int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE position($1 in encode(token_hash, 'escape')) > 0 OR hint = $1`,
		tok.Secret).Scan(&stored))
	require.Zero(t, stored, "only the hash is stored")

	// The user's role now bounds the token's.
	u, err := store.UserByName(ctx, pool, "carol")
	require.NoError(t, err)
	_, err = s.AddUser(ctx, cli, "root", market.RoleAdmin, "root's long password")
	require.NoError(t, err)
	require.NoError(t, s.UpdateUser(ctx, cli, u.ID, market.RoleViewer, false))
	p, err = s.Token(ctx, tok.Secret)
	require.NoError(t, err)
	require.Equal(t, market.RoleViewer, p.Role)

	list, err := s.Tokens(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NotNil(t, list[0].LastUsedAt, "last used is kept")
	require.Error(t, s.RevokeToken(ctx, cli, tok.ID, u.ID+1000), "not another user's token")
	require.NoError(t, s.RevokeToken(ctx, cli, tok.ID, u.ID))
	p, err = s.Token(ctx, tok.Secret)
	require.NoError(t, err)
	require.Nil(t, p, "revoked")
}

func TestTheLastAdminStays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := auth.New(pool, nil)
	made, err := s.EnsureAdmin(ctx, cli, "first admin password")
	require.NoError(t, err)
	require.True(t, made)
	made, err = s.EnsureAdmin(ctx, cli, "first admin password")
	require.NoError(t, err)
	require.False(t, made, "only on an empty table")
	u, err := store.UserByName(ctx, pool, "admin")
	require.NoError(t, err)
	require.ErrorIs(t, s.UpdateUser(ctx, cli, u.ID, market.RoleOperator, false), auth.ErrLastAdmin)
	require.ErrorIs(t, s.UpdateUser(ctx, cli, u.ID, market.RoleAdmin, true), auth.ErrLastAdmin)
	require.ErrorIs(t, s.RemoveUser(ctx, cli, u.ID), auth.ErrLastAdmin)
	u, err = store.UserByName(ctx, pool, "admin")
	require.NoError(t, err)
	require.Equal(t, market.RoleAdmin, u.Role)
	require.False(t, u.Disabled)
}

// TestLockoutEndsWithANewPassword: a locked account opens again when an admin sets its
// password; attempts refused while locked do not prolong the lock.
func TestLockoutEndsWithANewPassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := auth.New(pool, &auth.Config{MaxFailures: 2})
	u, err := s.AddUser(ctx, cli, "erin", market.RoleViewer, "erin's password")
	require.NoError(t, err)
	for range 2 {
		_, _, err = s.Login(ctx, "erin", "guess", "10.0.0.1", "")
		require.Error(t, err)
	}
	var le *auth.LoginError
	for range 3 {
		_, _, err = s.Login(ctx, "erin", "erin's password", "10.0.0.1", "")
		require.ErrorAs(t, err, &le)
		require.True(t, le.Locked)
	}
	_, total, err := s.AuditLog(ctx, store.AuditFilter{Action: market.AuditLoginFailed, Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 2, total, "refusals while locked are not failures")
	require.NoError(t, s.SetPassword(ctx, cli, nil, u.ID, "", "erin's new password"))
	_, _, err = s.Login(ctx, "erin", "erin's new password", "10.0.0.1", "")
	require.NoError(t, err, "a new password unlocks")
}

// TestAdminsDemotingEachOther: two admins demoting each other at once: one wins, the
// other is refused as the last admin (no deadlock).
func TestAdminsDemotingEachOther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	s := auth.New(pool, nil)
	a, err := s.AddUser(ctx, cli, "ann", market.RoleAdmin, "ann's password")
	require.NoError(t, err)
	b, err := s.AddUser(ctx, cli, "ben", market.RoleAdmin, "ben's password")
	require.NoError(t, err)
	errs := make(chan error, 2)
	for _, id := range []int64{a.ID, b.ID} {
		go func() { errs <- s.UpdateUser(ctx, cli, id, market.RoleViewer, false) }()
	}
	e1, e2 := <-errs, <-errs
	if e1 != nil {
		e1, e2 = e2, e1
	}
	require.NoError(t, e1)
	require.ErrorIs(t, e2, auth.ErrLastAdmin)
	n, err := store.CountAdmins(ctx, pool)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}
