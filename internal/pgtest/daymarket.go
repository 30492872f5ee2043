package pgtest

// DayMarketFixture inserts a hand-made market for the day-market tests: eight stocks on
// 2025-10-09, one on 2025-09-30 and one on 2025-10-10 (the nearest days with data).
//
//	code       name      board   pre    close  pct_chg vol   amount turnover pe_ttm limit
//	600000.SH  浦发银行   主板    10.05  11.06  10.05   1000  1100   1.5      6      up (10%: 11.055 → 11.06)
//	600001.SH  ST 测试    主板    10.00   9.50  -5      200   190    0.5      null   down (ST 5%)
//	300001.SZ  特锐德     创业板  20.00  22.00  10      300   660    3        40     (20%)
//	300002.SZ  神州泰岳   创业板   5.00   5.50  10      900   495    4        30
//	688001.SH  华兴源创   科创板  30.00  24.00  -20     400   960    2        50     down (20%)
//	920001.BJ  纬达光电   北交所  10.00  13.00  30      50    65     8        25     up (30%)
//	000001.SZ  平安银行   主板    12.00  12.00  0       5000  6000   0.3      5      (flat)
//	000002.SZ  (not in stock_basic, no daily_basic row: board 主板 from the code)
//	                              8.00   7.90  -1.25   700   553    null     null
//
// The whole day: up 4, flat 1, down 3, limit-up 2, limit-down 2, vol 8550, amount 10023.
// The main board: up 1, flat 1, down 2, limit-up 1, limit-down 1, vol 6900, amount 7843.
const DayMarketFixture = `
INSERT INTO stock_basic (ts_code, name, market) VALUES
	('600000.SH', '浦发银行', '主板'), ('600001.SH', 'ST 测试', '主板'),
	('300001.SZ', '特锐德', '创业板'), ('300002.SZ', '神州泰岳', '创业板'),
	('688001.SH', '华兴源创', '科创板'), ('920001.BJ', '纬达光电', '北交所'),
	('000001.SZ', '平安银行', '主板');
INSERT INTO daily_bar (ts_code, trade_date, open, high, low, close, pre_close, change, pct_chg, vol, amount) VALUES
	('600000.SH', '2025-10-09', 10.1, 11.06, 10.1, 11.06, 10.05, 1.01, 10.05, 1000, 1100),
	('600001.SH', '2025-10-09', 10, 10, 9.5, 9.5, 10, -0.5, -5, 200, 190),
	('300001.SZ', '2025-10-09', 20, 22, 20, 22, 20, 2, 10, 300, 660),
	('300002.SZ', '2025-10-09', 5, 5.5, 5, 5.5, 5, 0.5, 10, 900, 495),
	('688001.SH', '2025-10-09', 30, 30, 24, 24, 30, -6, -20, 400, 960),
	('920001.BJ', '2025-10-09', 10, 13, 10, 13, 10, 3, 30, 50, 65),
	('000001.SZ', '2025-10-09', 12, 12.1, 11.9, 12, 12, 0, 0, 5000, 6000),
	('000002.SZ', '2025-10-09', 8, 8, 7.9, 7.9, 8, -0.1, -1.25, 700, 553),
	('600000.SH', '2025-09-30', 10, 10.05, 10, 10.05, 10, 0.05, 0.5, 900, 904),
	('600000.SH', '2025-10-10', 11, 11.1, 11, 11.1, 11.06, 0.04, 0.36, 800, 885);
INSERT INTO daily_basic (ts_code, trade_date, turnover_rate, pe_ttm) VALUES
	('600000.SH', '2025-10-09', 1.5, 6), ('600001.SH', '2025-10-09', 0.5, NULL),
	('300001.SZ', '2025-10-09', 3, 40), ('300002.SZ', '2025-10-09', 4, 30),
	('688001.SH', '2025-10-09', 2, 50), ('920001.BJ', '2025-10-09', 8, 25),
	('000001.SZ', '2025-10-09', 0.3, 5);
`
