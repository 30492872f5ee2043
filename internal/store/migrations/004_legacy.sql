-- The old system's sync records (/api/v1/sync-status/list) are derived per trading day
-- from coverage and batch_days: the days loaded, plus the days with an open attempt
-- (pending or running) or one that failed or was cancelled. These partial indexes hold
-- just those attempts, so the records of twenty years read a few small ranges however
-- many batches there were.
CREATE INDEX batch_days_open ON batch_days (dataset, day)
    WHERE status IN ('pending', 'running');
CREATE INDEX batch_days_unloaded ON batch_days (dataset, day, finished_at DESC) INCLUDE (status)
    WHERE trading AND status IN ('failed', 'cancelled');
