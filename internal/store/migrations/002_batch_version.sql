-- Every transaction that changes a batch's days locks the batch row first; taking that
-- lock now bumps version, so readers can tell whether a batch's days changed.
ALTER TABLE batches ADD COLUMN version bigint NOT NULL DEFAULT 0;
