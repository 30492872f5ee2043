-- Adjusted prices, as Tushare's pro_bar computes them from raw bars and factors:
-- back-adjusted (hfq) price = raw × adj_factor; forward-adjusted (qfq) price = raw ×
-- adj_factor ÷ the stock's latest adj_factor in the warehouse, so the latest day's qfq
-- prices equal its raw ones. Volumes and amounts are not adjusted. A day without a
-- factor row has no adjusted row.

CREATE VIEW daily_hfq AS
SELECT b.ts_code, b.trade_date,
    b.open * f.adj_factor AS open, b.high * f.adj_factor AS high,
    b.low * f.adj_factor AS low, b.close * f.adj_factor AS close,
    b.pre_close * f.adj_factor AS pre_close,
    b.change * f.adj_factor AS change, b.pct_chg, b.vol, b.amount, f.adj_factor
FROM daily_bar b
JOIN adj_factor f ON f.ts_code = b.ts_code AND f.trade_date = b.trade_date;

-- The latest factor is taken over the stock's whole history of factors (a window
-- partitioned by ts_code): a WHERE on ts_code reaches inside the window, one on
-- trade_date filters after it, so a range of days is still relative to the latest factor.
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
