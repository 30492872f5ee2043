-- Tushare's adj_factor, daily_basic and stock_basic, and the unit of every column of
-- every data table (daily_bar's included), as internal/market describes them.

-- Tushare's adj_factor: one row per listed stock and trading day, suspended days included.
CREATE TABLE adj_factor (
    ts_code     text             NOT NULL,
    trade_date  date             NOT NULL,
    adj_factor  double precision,
    PRIMARY KEY (trade_date, ts_code)
);

-- Tushare's daily_basic: one row per stock that trades that day.
CREATE TABLE daily_basic (
    ts_code          text             NOT NULL,
    trade_date       date             NOT NULL,
    close            double precision,
    turnover_rate    double precision,
    turnover_rate_f  double precision,
    volume_ratio     double precision,
    pe               double precision,
    pe_ttm           double precision,
    pb               double precision,
    ps               double precision,
    ps_ttm           double precision,
    dv_ratio         double precision,
    dv_ttm           double precision,
    total_share      double precision,
    float_share      double precision,
    free_share       double precision,
    total_mv         double precision,
    circ_mv          double precision,
    PRIMARY KEY (trade_date, ts_code)
);

-- Tushare's stock_basic: every stock (listed, delisted, listing suspended), replaced
-- whole from the source's latest list.
CREATE TABLE stock_basic (
    ts_code       text PRIMARY KEY,
    symbol        text,
    name          text,
    area          text,
    industry      text,
    fullname      text,
    enname        text,
    cnspell       text,
    market        text,
    exchange      text,
    curr_type     text,
    list_status   text,
    list_date     date,
    delist_date   date,
    is_hs         text,
    act_name      text,
    act_ent_type  text
);

COMMENT ON TABLE daily_bar IS 'Tushare daily: unadjusted daily bars; suspended stocks have no row';
COMMENT ON TABLE adj_factor IS 'Tushare adj_factor: cumulative adjustment factors';
COMMENT ON TABLE daily_basic IS 'Tushare daily_basic: daily valuation, turnover and share counts';
COMMENT ON TABLE stock_basic IS 'Tushare stock_basic: every stock, listed (L), delisted (D) or listing suspended (P)';

-- daily
COMMENT ON COLUMN daily_bar.ts_code IS 'Tushare code: 6 digits and .SH, .SZ or .BJ';
COMMENT ON COLUMN daily_bar.trade_date IS 'trading date (exchange time, Asia/Shanghai)';
COMMENT ON COLUMN daily_bar.open IS 'opening price, yuan, unadjusted';
COMMENT ON COLUMN daily_bar.high IS 'highest price, yuan, unadjusted';
COMMENT ON COLUMN daily_bar.low IS 'lowest price, yuan, unadjusted';
COMMENT ON COLUMN daily_bar.close IS 'closing price, yuan, unadjusted';
COMMENT ON COLUMN daily_bar.pre_close IS 'previous close, yuan, adjusted for ex-rights on an ex-date';
COMMENT ON COLUMN daily_bar.change IS 'close - pre_close, yuan';
COMMENT ON COLUMN daily_bar.pct_chg IS 'change / pre_close, % (5 = 5%)';
COMMENT ON COLUMN daily_bar.vol IS 'volume, lots of 100 shares (手)';
COMMENT ON COLUMN daily_bar.amount IS 'turnover, thousand yuan (千元)';

-- adj_factor
COMMENT ON COLUMN adj_factor.ts_code IS 'Tushare code: 6 digits and .SH, .SZ or .BJ';
COMMENT ON COLUMN adj_factor.trade_date IS 'trading date (exchange time, Asia/Shanghai)';
COMMENT ON COLUMN adj_factor.adj_factor IS 'cumulative adjustment factor: backward-adjusted price = price × adj_factor; forward-adjusted = price × adj_factor / latest adj_factor';

-- daily_basic
COMMENT ON COLUMN daily_basic.ts_code IS 'Tushare code: 6 digits and .SH, .SZ or .BJ';
COMMENT ON COLUMN daily_basic.trade_date IS 'trading date (exchange time, Asia/Shanghai)';
COMMENT ON COLUMN daily_basic.close IS 'closing price, yuan, unadjusted';
COMMENT ON COLUMN daily_basic.turnover_rate IS 'turnover rate on float shares, % (5 = 5%)';
COMMENT ON COLUMN daily_basic.turnover_rate_f IS 'turnover rate on free-float shares, %';
COMMENT ON COLUMN daily_basic.volume_ratio IS 'volume ratio (volume against the recent average), a plain ratio';
COMMENT ON COLUMN daily_basic.pe IS 'price/earnings, total market value / net profit of the last fiscal year; NULL when a loss';
COMMENT ON COLUMN daily_basic.pe_ttm IS 'price/earnings on the net profit of the trailing twelve months; NULL when a loss';
COMMENT ON COLUMN daily_basic.pb IS 'price/book, total market value / net assets';
COMMENT ON COLUMN daily_basic.ps IS 'price/sales, total market value / revenue of the last fiscal year';
COMMENT ON COLUMN daily_basic.ps_ttm IS 'price/sales on the revenue of the trailing twelve months';
COMMENT ON COLUMN daily_basic.dv_ratio IS 'dividend yield of the last fiscal year, %; NULL without dividends';
COMMENT ON COLUMN daily_basic.dv_ttm IS 'dividend yield of the trailing twelve months, %; NULL without dividends';
COMMENT ON COLUMN daily_basic.total_share IS 'total shares, 10 thousand shares (万股)';
COMMENT ON COLUMN daily_basic.float_share IS 'tradable shares, 10 thousand shares (万股)';
COMMENT ON COLUMN daily_basic.free_share IS 'free-float shares, 10 thousand shares (万股)';
COMMENT ON COLUMN daily_basic.total_mv IS 'total market value, 10 thousand yuan (万元)';
COMMENT ON COLUMN daily_basic.circ_mv IS 'market value of the tradable shares, 10 thousand yuan (万元)';

-- stock_basic
COMMENT ON COLUMN stock_basic.ts_code IS 'Tushare code: 6 digits and .SH, .SZ or .BJ';
COMMENT ON COLUMN stock_basic.symbol IS 'exchange code, 6 digits';
COMMENT ON COLUMN stock_basic.name IS 'short name, with its ST or *ST prefix';
COMMENT ON COLUMN stock_basic.area IS 'region of the company';
COMMENT ON COLUMN stock_basic.industry IS 'industry';
COMMENT ON COLUMN stock_basic.fullname IS 'full company name';
COMMENT ON COLUMN stock_basic.enname IS 'English name';
COMMENT ON COLUMN stock_basic.cnspell IS 'pinyin initials of the short name';
COMMENT ON COLUMN stock_basic.market IS 'board: 主板, 创业板, 科创板, 北交所 or CDR';
COMMENT ON COLUMN stock_basic.exchange IS 'exchange: SSE, SZSE or BSE';
COMMENT ON COLUMN stock_basic.curr_type IS 'trading currency (CNY)';
COMMENT ON COLUMN stock_basic.list_status IS 'L listed, D delisted, P listing suspended';
COMMENT ON COLUMN stock_basic.list_date IS 'listing date';
COMMENT ON COLUMN stock_basic.delist_date IS 'delisting date; NULL unless delisted';
COMMENT ON COLUMN stock_basic.is_hs IS 'in the Shanghai/Shenzhen-Hong Kong Stock Connect: N no, H Shanghai, S Shenzhen';
COMMENT ON COLUMN stock_basic.act_name IS 'actual controller';
COMMENT ON COLUMN stock_basic.act_ent_type IS 'kind of the actual controller';

