-- Upstream rate limits shared by every process: per key (such as tushare/daily) the
-- theoretical arrival time of the next call (GCRA). A call reserves the slot
-- greatest(tat, clock_timestamp()) and moves tat one interval past it.
CREATE TABLE rate_limits (
    key  text        PRIMARY KEY,
    tat  timestamptz NOT NULL
);
