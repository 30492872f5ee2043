package handlers

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/views"
)

// sessionCookie holds a signed-in browser's session id.
const sessionCookie = "marketsync_session"

// principalKey is where identify leaves who the request is (c.Locals).
const principalKey = "principal"

// principal is who the request acts as: nil for nobody.
func principal(c *fiber.Ctx) *auth.Principal {
	p, _ := c.Locals(principalKey).(*auth.Principal)
	return p
}

// identify finds who a request is (see principalOf) for the handlers after it.
func (s *server) identify(c *fiber.Ctx) error {
	p, err := s.principalOf(c)
	if err != nil {
		return err
	}
	if p != nil {
		if anon := s.auth.Anonymous(); !p.Role.AtLeast(anon) {
			p.Role = anon // signing in never takes away what anyone may do
		}
		if p.Via == auth.ViaSession {
			s.keepSession(c)
		}
		c.Locals(principalKey, p)
	}
	return c.Next()
}

// keepSession sends the session cookie again with a fresh lifetime, so a browser in use
// keeps it as long as the server does (the idle timeout runs from the last request).
func (s *server) keepSession(c *fiber.Ctx) {
	if isWebSocket(c) {
		return
	}
	s.setSession(c, c.Cookies(sessionCookie))
}

func (s *server) setSession(c *fiber.Ctx, id string) {
	c.Cookie(&fiber.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		HTTPOnly: true,
		Secure:   c.Protocol() == "https",
		SameSite: fiber.CookieSameSiteLaxMode,
		MaxAge:   int(s.auth.Idle() / time.Second),
	})
}

// principalOf finds who a request is: a bearer token (scripts), else the session cookie
// (browsers), else the anonymous role when the server allows one; nil for nobody. A
// bearer token that is not a live one is refused at once rather than taken as anonymous.
func (s *server) principalOf(c *fiber.Ctx) (*auth.Principal, error) {
	ctx := c.UserContext()
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return nil, &authError{status: fiber.StatusUnauthorized, msg: "Authorization must be \"Bearer <token>\" with a marketsync API token"}
		}
		p, err := s.auth.Token(ctx, strings.TrimSpace(secret))
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, &authError{status: fiber.StatusUnauthorized, msg: "the API token is unknown or revoked"}
		}
		return p, nil
	}
	if id := c.Cookies(sessionCookie); id != "" {
		p, err := s.auth.Session(ctx, id)
		if err != nil || p != nil {
			return p, err
		}
		s.clearSession(c) // ended or idle: forget it
	}
	if role := s.auth.Anonymous(); role != "" {
		return &auth.Principal{Role: role, Via: auth.ViaAnonymous}, nil
	}
	return nil, nil
}

// authError is a request without the credentials (401) or the role (403) it needs.
type authError struct {
	status int
	msg    string
	key    string // the catalog key pages show
}

func (e *authError) Error() string { return e.msg }

// need lets through requests whose principal has at least role; the others get 401
// (nobody: a page's GET goes to the login page instead) or 403.
func (s *server) need(role market.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := principal(c)
		if p.Can(role) {
			return c.Next()
		}
		if p == nil {
			return s.unauthenticated(c)
		}
		return &authError{status: fiber.StatusForbidden, key: "err.forbidden",
			msg: fmt.Sprintf("%s is %s; this needs %s", p.Who(), roleName(p.Role), role)}
	}
}

// unauthenticated answers a request that needs someone signed in: a page's GET goes to
// the login page (and back after), htmx is told to go there, the rest get 401.
func (s *server) unauthenticated(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodGet && !isAPI(c) && !isWebSocket(c) && !isHTMX(c) && c.Path() != "/metrics" {
		return c.Redirect("/login?next="+url.QueryEscape(safeNext(c.OriginalURL())), fiber.StatusSeeOther)
	}
	if isHTMX(c) {
		next := "/"
		if u, err := url.Parse(c.Get("HX-Current-URL")); err == nil {
			next = safeNext(u.RequestURI())
		}
		c.Set("HX-Redirect", "/login?next="+url.QueryEscape(next))
	}
	return &authError{status: fiber.StatusUnauthorized, key: "err.unauthenticated",
		msg: "sign in first: send an API token (Authorization: Bearer …) or a session cookie from /login"}
}

func roleName(r market.Role) string {
	if r == "" {
		return "nobody"
	}
	return string(r)
}

func isAPI(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/api/") }

func isWebSocket(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/ws/") }

// csrf refuses a state-changing request made with a session cookie unless it carries the
// session's CSRF token (htmx sends the header, plain forms the field): a page of another
// site that got past the same-origin checks still cannot know it. Token and anonymous
// requests carry no cookie to ride on.
func (s *server) csrf(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	p := principal(c)
	if p == nil || p.Via != auth.ViaSession {
		return c.Next()
	}
	got := c.Get(views.CSRFHeader)
	if got == "" && !isAPI(c) {
		got = c.FormValue(views.CSRFField)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF)) != 1 {
		return &authError{status: fiber.StatusForbidden, key: "err.csrf",
			msg: "the request lacks this session's CSRF token: reload the page and try again"}
	}
	return c.Next()
}

// viewer is the page's viewer for the templates.
func (s *server) viewer(c *fiber.Ctx) views.Viewer {
	p := principal(c)
	if p == nil {
		return views.Viewer{}
	}
	return views.Viewer{Name: p.Name, Role: p.Role, CSRF: p.CSRF, LoginOffered: p.Via == auth.ViaAnonymous}
}

// actor is who acts for the engine and the audit trail: the user, through the pages or
// the API, from the client's address.
func (s *server) actor(c *fiber.Ctx, via market.Origin) market.Actor {
	return market.Actor{By: via, From: c.IP(), User: principal(c).Who()}
}

// audit records what the request's principal did.
func (s *server) audit(c *fiber.Ctx, via market.Origin, action, taskID, detail string) {
	s.auth.Record(c.UserContext(), s.actor(c, via), action, taskID, detail)
}

// loginPage is GET /login?next=.
func (s *server) loginPage(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, views.LoginPage(s.locale(c), views.LoginForm{Next: safeNext(c.Query("next"))}))
}

// login is POST /login: a new session (rotated: any earlier one of this browser ends),
// then back to where the user was going.
func (s *server) login(c *fiber.Ctx) error {
	form := views.LoginForm{Name: strings.TrimSpace(c.FormValue("name")), Next: safeNext(c.FormValue("next"))}
	id, _, err := s.auth.Login(c.UserContext(), form.Name, c.FormValue("password"), c.IP(), c.Get(fiber.HeaderUserAgent))
	var le *auth.LoginError
	if errors.As(err, &le) {
		status := fiber.StatusUnauthorized
		form.Error = "login.failed"
		if le.Locked {
			status, form.Error = fiber.StatusTooManyRequests, "login.locked"
			c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(le.RetryAfter.Seconds())))
		}
		return s.render(c, status, views.LoginPage(s.locale(c), form))
	}
	if err != nil {
		return err
	}
	if old := principal(c); old != nil && old.Via == auth.ViaSession {
		_ = s.auth.Logout(c.UserContext(), old, c.IP())
	}
	s.setSession(c, id)
	return c.Redirect(form.Next, fiber.StatusSeeOther)
}

// logout is POST /logout: the session ends on the server, so every tab and process
// that holds the cookie is signed out.
func (s *server) logout(c *fiber.Ctx) error {
	if err := s.auth.Logout(c.UserContext(), principal(c), c.IP()); err != nil {
		return err
	}
	s.clearSession(c)
	if isHTMX(c) {
		c.Set("HX-Redirect", "/login")
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect("/login", fiber.StatusSeeOther)
}

func (s *server) clearSession(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: "", Path: "/", HTTPOnly: true,
		Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteLaxMode, MaxAge: -1})
}
