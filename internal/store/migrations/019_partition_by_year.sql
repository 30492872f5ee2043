-- daily_bar, adj_factor and daily_basic partitioned by year of trade_date, so that each
-- year's indexes stay small: replacing a day (DELETE of one date + COPY) touches one
-- year's partition whatever the size of the warehouse, and the new index on
-- (ts_code, trade_date) reads one stock's history as one short index range per year.
-- On daily_bar and adj_factor that index carries every column (INCLUDE), on daily_basic
-- the three the stock page's chart draws (PE TTM, PB, turnover): a stock's page (its
-- bars joined with its factors and those) is read from the indexes alone, a few pages a year,
-- instead of one heap page per day (each day's rows are stored together, so a stock's
-- 20 years are some 5,000 pages of each table).
--
-- Partitions 1990 to 2035 exist from here on; a DEFAULT partition takes any other date,
-- so no day is ever refused. Partitions are not created on demand: CREATE TABLE …
-- PARTITION OF takes an ACCESS EXCLUSIVE lock on the parent (every page read and every
-- other day's load would queue behind it, and two days' transactions could deadlock),
-- and fails when the DEFAULT partition already holds rows of that year. A later
-- migration adds years past 2035 (moving their rows out of DEFAULT first).
--
-- Existing rows move in this migration's transaction: each table is renamed away, a
-- partitioned one with the same columns and COMMENTs takes its name, the rows are
-- copied over, the keys are built once (faster than row by row), and the old table is
-- dropped. The views over these tables (012's daily_hfq and daily_qfq) are dropped first
-- and recreated unchanged at the end; dropping the old tables without CASCADE fails the
-- migration if anything else still depends on them. The staging tables (015) were
-- created LIKE the old tables and keep their columns; nothing else refers to them.

DROP VIEW daily_qfq;
DROP VIEW daily_hfq;

DO $$
DECLARE
    t    text;
    yr   int;
BEGIN
    FOREACH t IN ARRAY ARRAY['daily_bar', 'adj_factor', 'daily_basic'] LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', t, t || '_unpartitioned');
        EXECUTE format('ALTER INDEX %I RENAME TO %I', t || '_pkey', t || '_unpartitioned_pkey');
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING COMMENTS) PARTITION BY RANGE (trade_date)',
            t, t || '_unpartitioned');
        EXECUTE format('COMMENT ON TABLE %I IS %L', t,
            obj_description((t || '_unpartitioned')::regclass, 'pg_class'));
        FOR yr IN 1990..2035 LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                t || '_' || yr, t, make_date(yr, 1, 1), make_date(yr + 1, 1, 1));
        END LOOP;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', t || '_default', t);
        EXECUTE format('INSERT INTO %I SELECT * FROM %I', t, t || '_unpartitioned');
        EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (trade_date, ts_code)', t);
        EXECUTE format('CREATE INDEX %I ON %I (ts_code, trade_date) %s', t || '_ts_code', t,
            CASE t WHEN 'daily_bar' THEN 'INCLUDE (open, high, low, close, pre_close, change, pct_chg, vol, amount)'
                   WHEN 'adj_factor' THEN 'INCLUDE (adj_factor)'
                   WHEN 'daily_basic' THEN 'INCLUDE (pe_ttm, pb, turnover_rate)' ELSE '' END);
        EXECUTE format('DROP TABLE %I', t || '_unpartitioned');
        -- Autovacuum analyzes the partitions but never a partitioned parent.
        EXECUTE format('ANALYZE %I', t);
    END LOOP;
END
$$;

-- 012's views, unchanged.
CREATE VIEW daily_hfq AS
SELECT b.ts_code, b.trade_date,
    b.open * f.adj_factor AS open, b.high * f.adj_factor AS high,
    b.low * f.adj_factor AS low, b.close * f.adj_factor AS close,
    b.pre_close * f.adj_factor AS pre_close,
    b.change * f.adj_factor AS change, b.pct_chg, b.vol, b.amount, f.adj_factor
FROM daily_bar b
JOIN adj_factor f ON f.ts_code = b.ts_code AND f.trade_date = b.trade_date;

CREATE VIEW daily_qfq AS
SELECT b.ts_code, b.trade_date,
    b.open * f.adj_factor / f.latest AS open, b.high * f.adj_factor / f.latest AS high,
    b.low * f.adj_factor / f.latest AS low, b.close * f.adj_factor / f.latest AS close,
    b.pre_close * f.adj_factor / f.latest AS pre_close,
    b.change * f.adj_factor / f.latest AS change, b.pct_chg, b.vol, b.amount,
    f.adj_factor / f.latest AS qfq_factor
FROM daily_bar b
JOIN (
    SELECT ts_code, trade_date, adj_factor,
        first_value(adj_factor) OVER (PARTITION BY ts_code ORDER BY trade_date DESC) AS latest
    FROM adj_factor
) f ON f.ts_code = b.ts_code AND f.trade_date = b.trade_date;

COMMENT ON VIEW daily_hfq IS 'daily_bar back-adjusted (hfq): prices times adj_factor';
COMMENT ON VIEW daily_qfq IS 'daily_bar forward-adjusted (qfq): prices times adj_factor over the stock''s latest adj_factor';
