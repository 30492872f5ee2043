-- Staging for range sources (Baostock answers one stock over any range per call): a
-- batch first fetches each stock once over its range into these tables, then loads each
-- day from them in its own transaction. They are UNLOGGED, all of them: a crash of
-- PostgreSQL empties them together, and the batch fetches again; rows go when the batch
-- ends.
CREATE UNLOGGED TABLE stage_runs (
    batch_id     bigint      PRIMARY KEY,
    range_start  date        NOT NULL,
    range_end    date        NOT NULL,
    datasets     text[]      NOT NULL,
    total        integer     NOT NULL,
    fetched      integer     NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    ready_at     timestamptz
);
COMMENT ON TABLE stage_runs IS 'a batch''s fetch from a range source: stocks to fetch, fetched, and when every one was (ready_at: days load from staging)';

CREATE UNLOGGED TABLE stage_stocks (
    batch_id     bigint  NOT NULL,
    ts_code      text    NOT NULL,
    list_date    date,
    delist_date  date,
    fetched      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (batch_id, ts_code)
);

CREATE UNLOGGED TABLE stage_daily_bar (batch_id bigint NOT NULL, LIKE daily_bar);
CREATE INDEX ON stage_daily_bar (batch_id, trade_date);
CREATE UNLOGGED TABLE stage_adj_factor (batch_id bigint NOT NULL, LIKE adj_factor);
CREATE INDEX ON stage_adj_factor (batch_id, trade_date);
CREATE UNLOGGED TABLE stage_daily_basic (batch_id bigint NOT NULL, LIKE daily_basic);
CREATE INDEX ON stage_daily_basic (batch_id, trade_date);
