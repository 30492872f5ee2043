-- Accounts, their sessions and API tokens, and the audit trail. Secrets are stored only
-- as hashes: passwords with argon2id (a PHC string), session ids and tokens with SHA-256
-- (they are random, 256 bits: a fast hash is enough and lets a lookup use the index).
CREATE TABLE users (
    id             bigserial   PRIMARY KEY,
    name           text        NOT NULL UNIQUE,
    role           text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash  text        NOT NULL,
    disabled       boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text        NOT NULL DEFAULT '',
    password_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz
);
COMMENT ON TABLE users IS 'accounts: viewer watches, operator also acts on batches, admin also manages users, tokens and settings';

CREATE TABLE sessions (
    id_hash     bytea       PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    addr        text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
COMMENT ON TABLE sessions IS 'signed-in browsers: the SHA-256 of the cookie''s id, and the CSRF token its pages carry';

CREATE TABLE api_tokens (
    id            bigserial   PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    token_hash    bytea       NOT NULL UNIQUE,
    hint          text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
COMMENT ON TABLE api_tokens IS 'bearer tokens for scripts: acting as their user, at most with their role';

CREATE TABLE audit_log (
    id       bigserial   PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text        NOT NULL,
    via      text        NOT NULL,
    addr     text        NOT NULL DEFAULT '',
    action   text        NOT NULL,
    task_id  text,
    detail   text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);
CREATE INDEX audit_log_failed_logins ON audit_log (action, at) WHERE action = 'login_failed';
COMMENT ON TABLE audit_log IS 'who did what, when, from where, on which batch: logins, batch actions, user, token and settings changes';

-- Who started a batch, when it was someone signed in (created_by stays the origin).
ALTER TABLE batches ADD COLUMN created_user text;
