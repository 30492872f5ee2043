-- Webhooks: where alerts go (a WeCom, DingTalk or Feishu group robot, or any endpoint
-- taking plain JSON), the events each wants, and how its last delivery went. The URL
-- (robot keys sit in it) and the signing secret are secrets: pages show the URL masked
-- and the secret never.
CREATE TABLE webhooks (
    id          bigserial   PRIMARY KEY,
    name        text        NOT NULL CHECK (name <> ''),
    format      text        NOT NULL CHECK (format IN ('wecom', 'dingtalk', 'feishu', 'generic')),
    url         text        NOT NULL CHECK (url ~ '^https?://'),
    secret      text        NOT NULL DEFAULT '',
    events      text[]      NOT NULL CHECK (cardinality(events) > 0),
    enabled     boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text        NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text        NOT NULL DEFAULT '',
    last_status text        CHECK (last_status IN ('delivered', 'retrying', 'failed')),
    last_at     timestamptz,
    last_error  text
);
COMMENT ON TABLE webhooks IS 'where alerts go: url and secret are secrets, never shown in full';
COMMENT ON COLUMN webhooks.events IS 'the alert events it wants: batch_failed, batch_failed_days, schedule_missed, schedule_failed';
