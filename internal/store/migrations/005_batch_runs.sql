-- A retried batch keeps its history: started_at stays the first start; run_started_at is
-- when the current (or last) run began, run_seconds the time of the runs before it.
ALTER TABLE batches ADD COLUMN run_started_at timestamptz;
ALTER TABLE batches ADD COLUMN run_seconds double precision NOT NULL DEFAULT 0;
UPDATE batches SET run_started_at = started_at;
-- Latest finished first, for the dashboard.
CREATE INDEX batches_finished_at ON batches (finished_at DESC, id DESC) WHERE finished_at IS NOT NULL;
