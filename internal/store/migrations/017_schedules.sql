-- Daily schedules: per (dataset, source), a time of day (exchange time) at which one
-- process, whichever claims it first, starts a batch of every trading day missing since
-- the last one loaded. The claim (last_day) and the batch it starts commit together.
CREATE TABLE schedules (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset         text        NOT NULL,
    source          text        NOT NULL,
    fire_at         time        NOT NULL,
    enabled         boolean     NOT NULL DEFAULT true,
    last_day        date,
    last_fired_at   timestamptz,
    last_task_id    text,
    last_outcome    text        NOT NULL DEFAULT ''
                    CHECK (last_outcome IN ('', 'started', 'nothing_to_do', 'skipped', 'failed')),
    last_message    text        NOT NULL DEFAULT '',
    ended_reported  boolean     NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      text        NOT NULL DEFAULT '',
    UNIQUE (dataset, source)
);
COMMENT ON TABLE schedules IS 'daily schedules: a batch of the missing trading days at fire_at (Asia/Shanghai) on each trading day';
COMMENT ON COLUMN schedules.fire_at IS 'time of day in exchange time (Asia/Shanghai)';
COMMENT ON COLUMN schedules.last_day IS 'the trading day of the last firing (claimed with the batch it started, in one transaction)';
COMMENT ON COLUMN schedules.last_task_id IS 'the batch started last; the next firing skips while it is unfinished';
COMMENT ON COLUMN schedules.ended_reported IS 'whether the end of last_task_id was reported to the observer (once, by one process)';
