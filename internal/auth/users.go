package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// AddUser creates an account with a password; a bad name, role or password is invalid
// input, a name taken a conflict.
func (s *Service) AddUser(ctx context.Context, by market.Actor, name string, role market.Role, password string) (*store.User, error) {
	if err := market.CheckUserName(name); err != nil {
		return nil, err
	}
	if _, err := market.ParseRole(string(role)); err != nil {
		return nil, err
	}
	if err := market.CheckPassword(password); err != nil {
		return nil, err
	}
	u, err := store.AddUser(ctx, s.db, name, role, HashPassword(password), actorName(by))
	if err != nil {
		return nil, err
	}
	s.audit(ctx, entry(by, market.AuditUserAdd, fmt.Sprintf("%s as %s", name, role)))
	return u, nil
}

// EnsureAdmin creates the account "admin" with password when there is no account at
// all (the first start: MARKETSYNC_ADMIN_PASSWORD, or `make run`'s generated one). It
// reports whether it did.
func (s *Service) EnsureAdmin(ctx context.Context, by market.Actor, password string) (bool, error) {
	n, err := store.CountUsers(ctx, s.db)
	if err != nil || n > 0 {
		return false, err
	}
	_, err = s.AddUser(ctx, by, "admin", market.RoleAdmin, password)
	if errors.Is(err, market.ErrConflict) {
		return false, nil // another process made it meanwhile
	}
	return err == nil, err
}

// Users lists the accounts.
func (s *Service) Users(ctx context.Context) ([]store.User, error) { return store.Users(ctx, s.db) }

// ErrLastAdmin refuses a change that would leave no admin able to sign in.
var ErrLastAdmin = fmt.Errorf("%w: that would leave no admin who can sign in", market.ErrConflict)

// UpdateUser changes an account's role and whether it is disabled; its sessions end when
// it loses rights. The last admin cannot be demoted or disabled.
func (s *Service) UpdateUser(ctx context.Context, by market.Actor, id int64, role market.Role, disabled bool) error {
	if _, err := market.ParseRole(string(role)); err != nil {
		return err
	}
	var name string
	changed := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockUsers(ctx, tx); err != nil {
			return err
		}
		u, err := store.UserByID(ctx, tx, id)
		if err != nil {
			return err
		}
		name = u.Name
		if u.Role == role && u.Disabled == disabled {
			return nil // nothing to change: nobody is signed out
		}
		changed = true
		if err := store.UpdateUser(ctx, tx, id, role, disabled); err != nil {
			return err
		}
		if disabled || !role.AtLeast(u.Role) {
			// Rights taken away: no session outlives the rights it was opened with.
			if _, err := store.EndSessions(ctx, tx, id); err != nil {
				return err
			}
		}
		return keepAnAdmin(ctx, tx)
	})
	if err != nil || !changed {
		return err
	}
	state := "enabled"
	if disabled {
		state = "disabled"
	}
	s.audit(ctx, entry(by, market.AuditUserChange, fmt.Sprintf("%s: %s, %s", name, role, state)))
	return nil
}

// RemoveUser deletes an account with its sessions and tokens; not the last admin.
func (s *Service) RemoveUser(ctx context.Context, by market.Actor, id int64) error {
	var name string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockUsers(ctx, tx); err != nil {
			return err
		}
		u, err := store.UserByID(ctx, tx, id)
		if err != nil {
			return err
		}
		name = u.Name
		if err := store.RemoveUser(ctx, tx, id); err != nil {
			return err
		}
		return keepAnAdmin(ctx, tx)
	})
	if err != nil {
		return err
	}
	s.audit(ctx, entry(by, market.AuditUserRemove, name))
	return nil
}

// lockUsers takes the users table for the rest of the transaction, before reading it:
// two admins demoting each other wait for one another, and the second sees the first's
// change (keepAnAdmin then refuses it) instead of deadlocking.
func lockUsers(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`)
	return err
}

// keepAnAdmin fails (rolling back the change) when no enabled admin is left; the caller
// holds lockUsers.
func keepAnAdmin(ctx context.Context, tx pgx.Tx) error {
	n, err := store.CountAdmins(ctx, tx)
	if err == nil && n == 0 {
		return ErrLastAdmin
	}
	return err
}

// SetPassword gives an account a new password and ends its other sessions. A user
// changing their own gives the old one (current); an admin setting another's does not.
func (s *Service) SetPassword(ctx context.Context, by market.Actor, p *Principal, userID int64, current, password string) error {
	if err := market.CheckPassword(password); err != nil {
		return err
	}
	u, err := store.UserByID(ctx, s.db, userID)
	if err != nil {
		return err
	}
	var keep []byte
	if p != nil && p.UserID == userID {
		if ok, _ := CheckPassword(u.PasswordHash, current); !ok {
			return fmt.Errorf("%w: the current password is wrong", market.ErrInvalidInput)
		}
		keep = p.SessionHash
	}
	if err := store.SetPassword(ctx, s.db, userID, HashPassword(password), keep); err != nil {
		return err
	}
	s.audit(ctx, entry(by, market.AuditPassword, u.Name))
	return nil
}

// NewToken is a token just made: its secret is shown once and never stored.
type NewToken struct {
	ID     int64
	Secret string
	Name   string
	Role   market.Role
	User   string
}

// AddToken makes an API token for a user, with at most the user's role ("" is the
// user's role). Only the hash of its secret is kept.
func (s *Service) AddToken(ctx context.Context, by market.Actor, userName, name string, role market.Role) (*NewToken, error) {
	u, err := store.UserByName(ctx, s.db, userName)
	if err != nil {
		return nil, err
	}
	if role == "" {
		role = u.Role
	}
	if _, err := market.ParseRole(string(role)); err != nil {
		return nil, err
	}
	if !u.Role.AtLeast(role) {
		return nil, fmt.Errorf("%w: %s is %s and cannot hold a token with role %s", market.ErrInvalidInput, u.Name, u.Role, role)
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return nil, fmt.Errorf("%w: a token needs a name of 1 to 100 characters (what it is for, e.g. \"nightly cron\")", market.ErrInvalidInput)
	}
	secret := NewSecret(TokenPrefix)
	hint := secret[:len(TokenPrefix)+4] + "…"
	id, err := store.AddToken(ctx, s.db, u.ID, name, role, HashSecret(secret), hint)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, entry(by, market.AuditTokenAdd, fmt.Sprintf("#%d %q for %s as %s", id, name, u.Name, role)))
	return &NewToken{ID: id, Secret: secret, Name: name, Role: role, User: u.Name}, nil
}

// Tokens lists one user's tokens (userID > 0) or everyone's.
func (s *Service) Tokens(ctx context.Context, userID int64) ([]store.Token, error) {
	return store.Tokens(ctx, s.db, userID)
}

// RevokeToken revokes a token; owner > 0 limits it to that user's own tokens.
func (s *Service) RevokeToken(ctx context.Context, by market.Actor, id, owner int64) error {
	t, err := store.RevokeToken(ctx, s.db, id, owner)
	if err != nil {
		return err
	}
	s.audit(ctx, entry(by, market.AuditTokenRevoke, fmt.Sprintf("#%d %q of %s", t.ID, t.Name, t.UserName)))
	return nil
}
