-- The exchanges' calendar: every day known, open or not, and which source said so
-- (the embedded data seeds it; a source's trade calendar grows it).
CREATE TABLE trade_calendar (
    day         date        PRIMARY KEY,
    open        boolean     NOT NULL,
    source      text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE trade_calendar IS 'The exchanges'' trading calendar: one row per calendar day known';
COMMENT ON COLUMN trade_calendar.open IS 'true when the exchanges trade that day';
COMMENT ON COLUMN trade_calendar.source IS 'where the day came from: embedded (the binary''s data) or a source (tushare, demo, ...)';
