package market

import (
	"fmt"
	"regexp"
	"strings"
)

// Role is what an account may do. Each role may do everything the roles below it may.
type Role string

// The roles, from least to most.
const (
	// RoleViewer watches everything: pages, feeds, the read API.
	RoleViewer Role = "viewer"
	// RoleOperator also starts, cancels, pauses, resumes and retries batches.
	RoleOperator Role = "operator"
	// RoleAdmin also manages users, tokens, schedules and settings.
	RoleAdmin Role = "admin"
)

// Roles lists the roles from least to most.
func Roles() []Role { return []Role{RoleViewer, RoleOperator, RoleAdmin} }

// ParseRole reads a role's name.
func ParseRole(name string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == strings.ToLower(strings.TrimSpace(name)) {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: unknown role %q (one of viewer, operator, admin)", ErrInvalidInput, name)
}

// rank orders the roles; an unknown role ranks below every one.
func (r Role) rank() int {
	for i, x := range Roles() {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// AtLeast reports whether r may do what need may.
func (r Role) AtLeast(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// Lower returns the lesser of two roles: a token never does more than its user may.
func (r Role) Lower(o Role) Role {
	if o.rank() < r.rank() {
		return o
	}
	return r
}

// Audited things people do, as the audit trail names them; batch actions are named by
// their Action (cancel, pause, resume, retry).
const (
	AuditLogin       = "login"
	AuditLoginFailed = "login_failed"
	AuditLoginLocked = "login_locked"
	AuditLogout      = "logout"
	AuditStart       = "start"
	AuditUserAdd     = "user_add"
	AuditUserChange  = "user_change"
	AuditUserRemove  = "user_remove"
	AuditPassword    = "password_change"
	AuditTokenAdd    = "token_add"
	AuditTokenRevoke = "token_revoke"
	AuditSchedule    = "schedule_change"
	AuditWebhook     = "webhook_change"
	AuditSessionsEnd = "sessions_end"
)

// AuditActions lists the names the audit trail uses, for its filter.
func AuditActions() []string {
	out := []string{AuditLogin, AuditLoginFailed, AuditLoginLocked, AuditLogout, AuditStart}
	for _, a := range Actions() {
		out = append(out, string(a))
	}
	return append(out, AuditUserAdd, AuditUserChange, AuditUserRemove, AuditPassword,
		AuditTokenAdd, AuditTokenRevoke, AuditSessionsEnd, AuditSchedule, AuditWebhook)
}

// userName is what an account may be called: letters, digits and . _ - @, 1 to 64.
var userName = regexp.MustCompile(`^[\p{L}\p{N}._@-]{1,64}$`)

// CheckUserName refuses a name that is not one.
func CheckUserName(name string) error {
	if !userName.MatchString(name) {
		return fmt.Errorf("%w: a user name is 1 to 64 letters, digits and . _ - @, not %q", ErrInvalidInput, name)
	}
	return nil
}

// MinPasswordLength is the shortest password an account may have.
const MinPasswordLength = 10

// CheckPassword refuses a password too short to be one, or too long to hash.
func CheckPassword(pw string) error {
	if n := len([]rune(pw)); n < MinPasswordLength {
		return fmt.Errorf("%w: a password needs at least %d characters (this one has %d)", ErrInvalidInput, MinPasswordLength, n)
	}
	if len(pw) > 1024 {
		return fmt.Errorf("%w: a password is at most 1024 bytes", ErrInvalidInput)
	}
	return nil
}
