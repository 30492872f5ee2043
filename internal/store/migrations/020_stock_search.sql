-- Finding a stock as one types (GET /stocks/search): by code prefix, by pinyin
-- initials prefix, by a part of its name. stock_basic is small (some 5,500 rows), but
-- the search runs on every keystroke of every viewer: prefix searches use the pattern
-- indexes, a part of a name the trigram index (pg_trgm, shipped with PostgreSQL).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX stock_basic_ts_code_prefix ON stock_basic (ts_code text_pattern_ops);
CREATE INDEX stock_basic_cnspell_prefix ON stock_basic (lower(cnspell) text_pattern_ops);
CREATE INDEX stock_basic_name_trgm ON stock_basic USING gin (name gin_trgm_ops);
