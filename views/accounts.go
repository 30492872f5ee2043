package views

import (
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/marketsync/marketsync/internal/market"
)

// CSRFField is the form field, and CSRFHeader the header (htmx's, from the body's
// hx-headers), that carry a session's CSRF token back with a state-changing request.
const (
	CSRFField  = "_csrf"
	CSRFHeader = "X-CSRF-Token"
)

// LoginForm is the login page's form: the name tried, where to go after, and why the
// last try failed (a catalog key).
type LoginForm struct {
	Name  string
	Next  string
	Error string
}

// UserRow is an account as the admin's list shows it.
type UserRow struct {
	ID          int64
	Name        string
	Role        market.Role
	Disabled    bool
	CreatedAt   time.Time
	CreatedBy   string
	LastLoginAt *time.Time
}

// TokenRow is an API token as lists show it: never its secret, only its first letters.
type TokenRow struct {
	ID         int64
	User       string
	Name       string
	Role       market.Role
	Hint       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// NewToken is a token just made, shown once.
type NewToken struct {
	Name   string
	Role   market.Role
	Secret string
}

// Notice is a page's message after a form: a catalog key or text, and whether it is an
// error.
type Notice struct {
	Text  string
	Error bool
}

// AccountData feeds the account page: who, their tokens, their open sessions.
type AccountData struct {
	Name     string
	Role     market.Role
	Sessions int
	Tokens   []TokenRow
	NewToken *NewToken
	Notice   Notice
}

// UsersData feeds the admin's users page: every account and every token.
type UsersData struct {
	Users  []UserRow
	Tokens []TokenRow
	// Self is the admin looking (their own row cannot be removed from here).
	Self     string
	NewToken *NewToken
	Notice   Notice
}

// AuditFilter is the audit page's filter, as query parameters.
type AuditFilter struct {
	Actor  string
	Action string
	TaskID string
	Since  string // YYYY-MM-DD
	Until  string // YYYY-MM-DD, inclusive
}

// AuditRow is one entry of the audit trail.
type AuditRow struct {
	At     time.Time
	Actor  string
	Via    string
	Addr   string
	Action string
	TaskID string
	Detail string
}

// AuditData is one page of the audit trail, newest first.
type AuditData struct {
	Items    []AuditRow
	Total    int
	Page     int
	PageSize int
	Filter   AuditFilter
}

func auditURL(f AuditFilter, page int) string {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "task_id": f.TaskID, "since": f.Since, "until": f.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/admin/audit"
	}
	return "/admin/audit?" + q.Encode()
}

func userURL(id int64, action string) string {
	u := "/admin/users/" + strconv.FormatInt(id, 10)
	if action != "" {
		u += "/" + action
	}
	return u
}

func tokenRevokeURL(admin bool, id int64) string {
	if admin {
		return "/admin/tokens/" + strconv.FormatInt(id, 10) + "/revoke"
	}
	return "/account/tokens/" + strconv.FormatInt(id, 10) + "/revoke"
}

// rolesUpTo lists the roles a user with role r may give a token.
func rolesUpTo(r market.Role) []market.Role {
	var out []market.Role
	for _, x := range market.Roles() {
		if r.AtLeast(x) {
			out = append(out, x)
		}
	}
	return out
}

// csrfHeaders is the body's hx-headers: every htmx request of the page sends the
// session's CSRF token.
func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{CSRFHeader: token})
	return string(b)
}

func optTime(loc Locale, t *time.Time) string {
	if t == nil {
		return "—"
	}
	return loc.DateTime(*t)
}
