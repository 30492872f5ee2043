package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
	"github.com/marketsync/marketsync/views"
)

// auditPageSize is the audit trail's page length.
const auditPageSize = 50

// signedIn lets through the browser of a signed-in user: the account pages manage an
// account (its password, tokens and sessions), which an anonymous viewer has not, and
// which an API token may not manage (a viewer's token must not make itself an admin's).
func (s *server) signedIn(c *fiber.Ctx) error {
	p := principal(c)
	switch {
	case p != nil && p.Via == auth.ViaSession:
		return c.Next()
	case p != nil && p.Via == auth.ViaToken:
		return &authError{status: fiber.StatusForbidden, key: "err.forbidden",
			msg: "API tokens cannot manage accounts: sign in to /account in a browser"}
	}
	return s.unauthenticated(c)
}

// accountPage is GET /account.
func (s *server) accountPage(c *fiber.Ctx) error {
	return s.renderAccount(c, fiber.StatusOK, views.Notice{}, nil)
}

func (s *server) renderAccount(c *fiber.Ctx, status int, n views.Notice, tok *views.NewToken) error {
	p := principal(c)
	tokens, err := s.auth.Tokens(c.UserContext(), p.UserID)
	if err != nil {
		return err
	}
	open, err := s.auth.OpenSessions(c.UserContext(), p.UserID)
	if err != nil {
		return err
	}
	return s.render(c, status, views.AccountPage(s.locale(c), views.AccountData{
		Name: p.Name, Role: p.Role, Sessions: open, Tokens: tokenRows(tokens), NewToken: tok, Notice: n}))
}

// changePassword is POST /account/password (current, password): the user's other
// sessions end.
func (s *server) changePassword(c *fiber.Ctx) error {
	p := principal(c)
	err := s.auth.SetPassword(c.UserContext(), s.actor(c, market.OriginWeb), p, p.UserID, c.FormValue("current"), c.FormValue("password"))
	if market.IsInputError(err) {
		return s.renderAccount(c, fiber.StatusUnprocessableEntity, views.Notice{Text: market.Reason(err), Error: true}, nil)
	}
	if err != nil {
		return err
	}
	return s.renderAccount(c, fiber.StatusOK, views.Notice{Text: "account.password_changed"}, nil)
}

// addToken is POST /account/tokens (name, role): a token of the user's, for their role
// or lower, shown once.
func (s *server) addToken(c *fiber.Ctx) error {
	p := principal(c)
	role, err := market.ParseRole(c.FormValue("role", string(p.Role)))
	if err == nil && !p.Role.AtLeast(role) {
		err = fmt.Errorf("%w: you are %s and cannot make a token with role %s", market.ErrInvalidInput, p.Role, role)
	}
	if err == nil {
		var t *auth.NewToken
		if t, err = s.auth.AddToken(c.UserContext(), s.actor(c, market.OriginWeb), p.Name, c.FormValue("name"), role); err == nil {
			return s.renderAccount(c, fiber.StatusOK, views.Notice{}, &views.NewToken{Name: t.Name, Role: t.Role, Secret: t.Secret})
		}
	}
	if market.IsInputError(err) {
		return s.renderAccount(c, fiber.StatusUnprocessableEntity, views.Notice{Text: market.Reason(err), Error: true}, nil)
	}
	return err
}

// revokeOwnToken is POST /account/tokens/:id/revoke.
func (s *server) revokeOwnToken(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.auth.RevokeToken(c.UserContext(), s.actor(c, market.OriginWeb), id, principal(c).UserID); err != nil {
		return err
	}
	return c.Redirect("/account", fiber.StatusSeeOther)
}

// endOwnSessions is POST /account/sessions/end: signed out everywhere, this browser too.
func (s *server) endOwnSessions(c *fiber.Ctx) error {
	if _, err := s.auth.EndSessions(c.UserContext(), s.actor(c, market.OriginWeb), principal(c).UserID); err != nil {
		return err
	}
	s.clearSession(c)
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// usersPage is GET /admin/users.
func (s *server) usersPage(c *fiber.Ctx) error {
	return s.renderUsers(c, fiber.StatusOK, views.Notice{})
}

func (s *server) renderUsers(c *fiber.Ctx, status int, n views.Notice) error {
	users, err := s.auth.Users(c.UserContext())
	if err != nil {
		return err
	}
	tokens, err := s.auth.Tokens(c.UserContext(), 0)
	if err != nil {
		return err
	}
	d := views.UsersData{Self: principal(c).Name, Tokens: tokenRows(tokens), Notice: n}
	for _, u := range users {
		d.Users = append(d.Users, views.UserRow{ID: u.ID, Name: u.Name, Role: u.Role, Disabled: u.Disabled,
			CreatedAt: u.CreatedAt, CreatedBy: u.CreatedBy, LastLoginAt: u.LastLoginAt})
	}
	return s.render(c, status, views.UsersPage(s.locale(c), d))
}

// usersDone answers an admin's form: the users page with what happened, or why not
// (input errors 422, conflicts such as the last admin 409).
func (s *server) usersDone(c *fiber.Ctx, err error, done string) error {
	switch {
	case err == nil:
		return s.renderUsers(c, fiber.StatusOK, views.Notice{Text: done})
	case market.IsInputError(err):
		return s.renderUsers(c, fiber.StatusUnprocessableEntity, views.Notice{Text: market.Reason(err), Error: true})
	case errors.Is(err, market.ErrConflict):
		return s.renderUsers(c, fiber.StatusConflict, views.Notice{Text: market.Reason(err), Error: true})
	}
	return err
}

// addUser is POST /admin/users (name, role, password).
func (s *server) addUser(c *fiber.Ctx) error {
	role, err := market.ParseRole(c.FormValue("role"))
	if err == nil {
		_, err = s.auth.AddUser(c.UserContext(), s.actor(c, market.OriginWeb), strings.TrimSpace(c.FormValue("name")), role, c.FormValue("password"))
	}
	return s.usersDone(c, err, "users.added")
}

// updateUser is POST /admin/users/:id (role, disabled): the user's sessions end.
func (s *server) updateUser(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	role, err := market.ParseRole(c.FormValue("role"))
	if err == nil {
		err = s.auth.UpdateUser(c.UserContext(), s.actor(c, market.OriginWeb), id, role, isTrue(c.FormValue("disabled")))
	}
	return s.usersDone(c, err, "users.saved")
}

// setUserPassword is POST /admin/users/:id/password (password).
func (s *server) setUserPassword(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	err = s.auth.SetPassword(c.UserContext(), s.actor(c, market.OriginWeb), nil, id, "", c.FormValue("password"))
	return s.usersDone(c, err, "users.password_set")
}

// endUserSessions is POST /admin/users/:id/sessions/end.
func (s *server) endUserSessions(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	_, err = s.auth.EndSessions(c.UserContext(), s.actor(c, market.OriginWeb), id)
	return s.usersDone(c, err, "users.sessions_ended")
}

// removeUser is POST /admin/users/:id/remove; an admin cannot remove themselves here.
func (s *server) removeUser(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if id == principal(c).UserID {
		return s.usersDone(c, fmt.Errorf("%w: you cannot remove your own account", market.ErrConflict), "")
	}
	return s.usersDone(c, s.auth.RemoveUser(c.UserContext(), s.actor(c, market.OriginWeb), id), "users.removed")
}

// revokeAnyToken is POST /admin/tokens/:id/revoke.
func (s *server) revokeAnyToken(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	return s.usersDone(c, s.auth.RevokeToken(c.UserContext(), s.actor(c, market.OriginWeb), id, 0), "tokens.revoked_done")
}

// auditPage is GET /admin/audit?actor=&action=&task_id=&since=&until=&page=.
func (s *server) auditPage(c *fiber.Ctx) error {
	page, err := pageNumber(c)
	if err != nil {
		return err
	}
	vf := views.AuditFilter{Actor: clip(c.Query("actor")), Action: c.Query("action"), TaskID: clip(c.Query("task_id")),
		Since: c.Query("since"), Until: c.Query("until")}
	f := store.AuditFilter{Actor: vf.Actor, Action: vf.Action, TaskID: vf.TaskID, Limit: auditPageSize, Offset: (page - 1) * auditPageSize}
	for _, d := range []struct {
		v  string
		to *time.Time
		up int
	}{{vf.Since, &f.Since, 0}, {vf.Until, &f.Until, 1}} {
		if d.v == "" {
			continue
		}
		day, err := market.ParseDate(d.v)
		if err != nil {
			return badRequest(fmt.Sprintf("dates are YYYY-MM-DD, not %q", clip(d.v)))
		}
		// Days are the exchange's: from its midnight, through the end of an "until" day.
		*d.to = time.Date(day.Year(), day.Month(), day.Day()+d.up, 0, 0, 0, 0, s.zone)
	}
	items, total, err := s.auth.AuditLog(c.UserContext(), f)
	if err != nil {
		return err
	}
	d := views.AuditData{Total: total, Page: page, PageSize: auditPageSize, Filter: vf}
	for _, e := range items {
		d.Items = append(d.Items, views.AuditRow{At: e.At, Actor: e.Actor, Via: e.Via, Addr: e.Addr, Action: e.Action,
			TaskID: e.TaskID, Detail: e.Detail})
	}
	return s.render(c, fiber.StatusOK, views.AuditPage(s.locale(c), d))
}

func tokenRows(tokens []store.Token) []views.TokenRow {
	out := make([]views.TokenRow, 0, len(tokens))
	for _, t := range tokens {
		out = append(out, views.TokenRow{ID: t.ID, User: t.UserName, Name: t.Name, Role: t.Role, Hint: t.Hint,
			CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt})
	}
	return out
}

// pathID reads the :id of an admin route: a positive number, else 400.
func pathID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest(fmt.Sprintf("%q is not an id", clip(c.Params("id"))))
	}
	return id, nil
}
