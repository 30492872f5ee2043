-- Batches, their days, every error, what is loaded, and the first dataset's table.

CREATE TABLE batches (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id       text        NOT NULL UNIQUE,
    datasets      text[]      NOT NULL,
    start_date    date        NOT NULL,
    end_date      date        NOT NULL,
    force         boolean     NOT NULL DEFAULT false,
    priority      smallint    NOT NULL DEFAULT 2 CHECK (priority BETWEEN 1 AND 4),
    status        text        NOT NULL CHECK (status IN
                  ('queued', 'running', 'paused', 'cancelling', 'completed', 'failed', 'cancelled')),
    queue         text        NOT NULL,
    message       text        NOT NULL DEFAULT '',
    total         integer     NOT NULL,
    trading_days  integer     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text        NOT NULL,
    created_from  text        NOT NULL DEFAULT '',
    started_at    timestamptz,
    finished_at   timestamptz,
    cancelled_by  text
);
CREATE INDEX batches_created_at ON batches (created_at DESC, id DESC);
CREATE INDEX batches_active ON batches (id)
    WHERE status IN ('queued', 'running', 'paused', 'cancelling');

-- One row per (dataset, calendar day) of a batch. gen is bumped whenever a day is queued
-- again (resume, retry): a job only works the day if it carries the current gen.
CREATE TABLE batch_days (
    batch_id     bigint      NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    dataset      text        NOT NULL,
    day          date        NOT NULL,
    trading      boolean     NOT NULL,
    status       text        NOT NULL CHECK (status IN
                 ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
    gen          integer     NOT NULL DEFAULT 1,
    attempts     integer     NOT NULL DEFAULT 0,
    rows         bigint      NOT NULL DEFAULT 0,
    job_id       bigint,
    started_at   timestamptz,
    finished_at  timestamptz,
    error        text,
    PRIMARY KEY (batch_id, dataset, day)
);
CREATE INDEX batch_days_failed ON batch_days (dataset, day) WHERE status = 'failed';

-- Every failed attempt of every day, retried ones included.
CREATE TABLE day_errors (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id  bigint      NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    dataset   text        NOT NULL,
    day       date        NOT NULL,
    attempt   integer     NOT NULL,
    final     boolean     NOT NULL,
    message   text        NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX day_errors_batch ON day_errors (batch_id, id DESC);

-- What is loaded: one row per (dataset, trading day), written in the day's transaction.
CREATE TABLE coverage (
    dataset    text        NOT NULL,
    day        date        NOT NULL,
    rows       bigint      NOT NULL,
    synced_at  timestamptz NOT NULL DEFAULT now(),
    batch_id   bigint,
    PRIMARY KEY (dataset, day)
);

-- Tushare's daily: vol in lots of 100 shares, amount in thousand yuan. The key leads
-- with the date so replacing a day is a range delete on the key.
CREATE TABLE daily_bar (
    ts_code     text             NOT NULL,
    trade_date  date             NOT NULL,
    open        double precision,
    high        double precision,
    low         double precision,
    close       double precision,
    pre_close   double precision,
    change      double precision,
    pct_chg     double precision,
    vol         double precision,
    amount      double precision,
    PRIMARY KEY (trade_date, ts_code)
);
