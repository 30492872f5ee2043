-- Which source loaded each day, and what verifying it against the source found.
ALTER TABLE coverage ADD COLUMN source text NOT NULL DEFAULT 'demo';
ALTER TABLE coverage ADD COLUMN verified_at timestamptz;
ALTER TABLE coverage ADD COLUMN verified_ok boolean;
ALTER TABLE coverage ADD COLUMN verify_note text;
ALTER TABLE batches ADD COLUMN source text NOT NULL DEFAULT 'demo';
COMMENT ON COLUMN coverage.source IS 'the source that loaded the day';
COMMENT ON COLUMN coverage.verified_ok IS 'whether the day matched the source when last verified (marketsync verify); NULL: never verified';
