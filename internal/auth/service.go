package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/internal/store"
)

// Config tunes the Service; the zero value is the defaults.
type Config struct {
	// Idle ends a session not used for this long (default 12 hours).
	Idle time.Duration
	// Anonymous is the role of requests without credentials: "" (the default) refuses
	// them; viewer or operator opens a closed network's server to everyone on it.
	Anonymous market.Role
	// MaxFailures is how many failed logins within FailureWindow lock an account name
	// (default 5); MaxFailuresPerAddr the same for a client address (default 20).
	MaxFailures        int
	MaxFailuresPerAddr int
	FailureWindow      time.Duration // default 15 minutes
	// Recheck is how often an open WebSocket checks that its session or token still
	// stands (default 30 s): a logout, a revoked token or a changed role ends it.
	Recheck time.Duration
	Logger  *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Idle <= 0 {
		c.Idle = 12 * time.Hour
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = 5
	}
	if c.MaxFailuresPerAddr <= 0 {
		c.MaxFailuresPerAddr = 20
	}
	if c.FailureWindow <= 0 {
		c.FailureWindow = 15 * time.Minute
	}
	if c.Recheck <= 0 {
		c.Recheck = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Service signs people in and tells who a request is. Build it with New.
type Service struct {
	db  *pgxpool.Pool
	cfg Config
}

// New builds the service on a migrated pool.
func New(db *pgxpool.Pool, cfg *Config) *Service {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	return &Service{db: db, cfg: c.withDefaults()}
}

// Idle is how long an unused session lasts.
func (s *Service) Idle() time.Duration { return s.cfg.Idle }

// Anonymous is the role of requests without credentials ("" when they are refused).
func (s *Service) Anonymous() market.Role { return s.cfg.Anonymous }

// How a request proved who it is.
const (
	ViaSession   = "session"
	ViaToken     = "token"
	ViaAnonymous = "anonymous"
)

// Principal is who a request acts as.
type Principal struct {
	UserID int64
	// Name is the user's name; "" for an anonymous request.
	Name string
	Role market.Role
	Via  string
	// CSRF is the session's token that its pages send back; SessionHash its id's hash.
	CSRF        string
	SessionHash []byte
	TokenID     int64
}

// Who names the principal in the audit trail and on pages: the user, or "anonymous".
func (p *Principal) Who() string {
	if p == nil || p.Name == "" {
		return "anonymous"
	}
	return p.Name
}

// Can reports whether the principal has at least role need.
func (p *Principal) Can(need market.Role) bool { return p != nil && p.Role.AtLeast(need) }

// LoginError is a refused login. Locked is set when too many attempts failed lately:
// RetryAfter says when to try again.
type LoginError struct {
	Locked     bool
	RetryAfter time.Duration
}

func (e *LoginError) Error() string {
	if e.Locked {
		return fmt.Sprintf("too many failed logins; try again in %d minutes", max(1, int(e.RetryAfter.Round(time.Minute)/time.Minute)))
	}
	return "wrong user name or password"
}

// Login checks a name and password, limited per name and per address, and opens a new
// session: its id (for the cookie; only its hash is stored) and who it is. Every
// attempt is audited.
func (s *Service) Login(ctx context.Context, name, password, addr, agent string) (string, *Principal, error) {
	name = strings.TrimSpace(name)
	byName, byAddr, err := store.FailedLogins(ctx, s.db, name, addr, time.Now().Add(-s.cfg.FailureWindow))
	if err != nil {
		return "", nil, err
	}
	if byName >= s.cfg.MaxFailures || byAddr >= s.cfg.MaxFailuresPerAddr {
		// Recorded, but not as a failure: guessing on must not keep the lock on forever.
		s.audit(ctx, store.AuditEntry{Actor: name, Via: "web", Addr: addr, Action: market.AuditLoginLocked, Detail: "refused: too many failed logins"})
		return "", nil, &LoginError{Locked: true, RetryAfter: s.cfg.FailureWindow}
	}
	u, err := store.UserByName(ctx, s.db, name)
	hash := dummyHash
	if err == nil {
		hash = u.PasswordHash
	} else if !errors.Is(err, market.ErrNotFound) {
		return "", nil, err
	}
	ok, herr := CheckPassword(hash, password)
	if herr != nil || !ok || u == nil || u.Disabled {
		detail := "wrong password"
		switch {
		case u == nil:
			detail = "no such user"
		case u.Disabled && ok:
			detail = "account disabled"
		}
		s.audit(ctx, store.AuditEntry{Actor: name, Via: "web", Addr: addr, Action: market.AuditLoginFailed, Detail: detail})
		return "", nil, &LoginError{}
	}
	id, csrf := NewSecret(""), NewSecret("")
	if err := store.CreateSession(ctx, s.db, HashSecret(id), u.ID, csrf, addr, clipText(agent, 200)); err != nil {
		return "", nil, err
	}
	s.audit(ctx, store.AuditEntry{Actor: u.Name, Via: "web", Addr: addr, Action: market.AuditLogin})
	return id, &Principal{UserID: u.ID, Name: u.Name, Role: u.Role, Via: ViaSession, CSRF: csrf, SessionHash: HashSecret(id)}, nil
}

// Session finds who a session cookie's id belongs to; nil when it is no open session.
func (s *Service) Session(ctx context.Context, id string) (*Principal, error) {
	if id == "" || len(id) > 100 {
		return nil, nil
	}
	ses, err := store.SessionByHash(ctx, s.db, HashSecret(id), s.cfg.Idle)
	if errors.Is(err, market.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &Principal{UserID: ses.User.ID, Name: ses.User.Name, Role: ses.User.Role, Via: ViaSession,
		CSRF: ses.CSRF, SessionHash: ses.IDHash}, nil
}

// Token finds who an API token acts as: its user, with the lower of the token's role
// and the user's role now. nil when it is no live token.
func (s *Service) Token(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 100 {
		return nil, nil
	}
	t, err := store.TokenByHash(ctx, s.db, HashSecret(secret))
	if errors.Is(err, market.ErrNotFound) {
		return nil, nil
	}
	if err != nil || t.UserDisabled {
		return nil, err
	}
	return &Principal{UserID: t.UserID, Name: t.UserName, Role: t.Role.Lower(t.UserRole), Via: ViaToken, TokenID: t.ID}, nil
}

// Recheck is how often long-lived connections (WebSockets) check Stands.
func (s *Service) Recheck() time.Duration { return s.cfg.Recheck }

// Stands reports whether what p was let in with still lets it in with its role: the
// session is open (not logged out, idle or ended by a change of the user), the token
// not revoked. Anonymous principals always stand.
func (s *Service) Stands(ctx context.Context, p *Principal) (bool, error) {
	var now *Principal
	var err error
	switch p.Via {
	case ViaSession:
		ses, serr := store.SessionByHash(ctx, s.db, p.SessionHash, s.cfg.Idle)
		if errors.Is(serr, market.ErrNotFound) {
			return false, nil
		}
		if serr != nil {
			return true, serr // the database away: no reason to drop anyone
		}
		now = &Principal{Role: ses.User.Role}
	case ViaToken:
		t, terr := store.TokenByID(ctx, s.db, p.TokenID)
		if errors.Is(terr, market.ErrNotFound) {
			return false, nil
		}
		if terr != nil {
			return true, terr
		}
		now, err = &Principal{Role: t.Role.Lower(t.UserRole)}, nil
		if t.UserDisabled || t.RevokedAt != nil {
			return false, nil
		}
	default:
		return true, nil
	}
	return now.Role.AtLeast(p.Role), err
}

// Logout ends one session.
func (s *Service) Logout(ctx context.Context, p *Principal, addr string) error {
	if p == nil || p.SessionHash == nil {
		return nil
	}
	if err := store.EndSession(ctx, s.db, p.SessionHash); err != nil {
		return err
	}
	s.audit(ctx, store.AuditEntry{Actor: p.Who(), Via: "web", Addr: addr, Action: market.AuditLogout})
	return nil
}

// EndSessions signs a user out everywhere: every session of theirs ends.
func (s *Service) EndSessions(ctx context.Context, by market.Actor, userID int64) (int64, error) {
	n, err := store.EndSessions(ctx, s.db, userID)
	if err != nil {
		return 0, err
	}
	u, err := store.UserByID(ctx, s.db, userID)
	if err != nil {
		return n, err
	}
	s.audit(ctx, entry(by, market.AuditSessionsEnd, fmt.Sprintf("%s: %d sessions", u.Name, n)))
	return n, nil
}

// OpenSessions counts a user's sessions still open.
func (s *Service) OpenSessions(ctx context.Context, userID int64) (int, error) {
	return store.CountSessions(ctx, s.db, userID, s.cfg.Idle)
}

// DropIdle deletes the sessions past the idle timeout (a sweep; lookups ignore them
// anyway).
func (s *Service) DropIdle(ctx context.Context) error {
	return store.DropIdleSessions(ctx, s.db, s.cfg.Idle)
}

// entry is an audit row of what by did: who (see name), through which door (web, api,
// cli), from where.
func entry(by market.Actor, action, detail string) store.AuditEntry {
	return store.AuditEntry{Actor: actorName(by), Via: string(by.By), Addr: by.From, Action: action, Detail: detail}
}

// actorName is who an actor is in the audit trail and on accounts: the user, or "anonymous".
func actorName(by market.Actor) string {
	if by.User == "" {
		return (*Principal)(nil).Who()
	}
	return by.User
}

// Record appends a row to the audit trail (batch actions and settings changes that
// other packages carry out). A failure is logged, not returned: the action is done.
func (s *Service) Record(ctx context.Context, by market.Actor, action, taskID, detail string) {
	e := entry(by, action, detail)
	e.TaskID = taskID
	s.audit(ctx, e)
}

func (s *Service) audit(ctx context.Context, e store.AuditEntry) {
	if err := store.Audit(context.WithoutCancel(ctx), s.db, e); err != nil {
		s.cfg.Logger.Error("writing the audit trail", "action", e.Action, "actor", e.Actor, "err", err)
	}
}

// AuditLog lists the audit trail.
func (s *Service) AuditLog(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, int, error) {
	return store.AuditLog(ctx, s.db, f)
}

func clipText(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// inTx runs f in a transaction.
func (s *Service) inTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.db, f)
}
