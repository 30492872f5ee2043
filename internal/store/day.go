package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/marketsync/marketsync/internal/market"
)

// DayMarkets reads a trading day's market from the warehouse (daily_bar, with
// daily_basic's turnover and PE and stock_basic's names and boards): pages of it, its
// breadth and totals, and the whole day as CSV streamed from COPY. Every query filters on
// one trade_date.
type DayMarkets struct {
	Pool *pgxpool.Pool
}

// dayRows selects every stock of the day whose date is the placeholder %[1]s: its board
// (stock_basic's, else guessed from the code as market.BoardOfCode does), its price limit
// (market.LimitPercent) and whether it closed at it (market.LimitOf: prices in whole fen,
// the limit price rounded half up in integer arithmetic, no numeric per row).
// TestLimitSQLAgreesWithMarket holds the two together. %[2]s is dayBasic (daily_basic's
// columns, joined) or dayNoBasic: the day's counts need none of them.
const dayRows = `
	SELECT b.trade_date, b.ts_code, coalesce(s.name, '') AS name, g.board,
		b.open, b.high, b.low, b.close, b.pre_close, b.change, b.pct_chg, b.vol, b.amount,
		d.turnover_rate, d.pe_ttm,
		CASE
			WHEN NOT b.pre_close > 0 OR b.close IS NULL THEN ''
			WHEN f.cl >= (f.pre * (100 + l.pct) + 50) / 100 THEN 'up'
			WHEN f.cl <= (f.pre * (100 - l.pct) + 50) / 100 THEN 'down'
			ELSE ''
		END AS hit
	FROM daily_bar b
	%[2]s
	LEFT JOIN stock_basic s ON s.ts_code = b.ts_code
	CROSS JOIN LATERAL (SELECT round(b.pre_close * 100)::bigint AS pre, round(b.close * 100)::bigint AS cl) f
	CROSS JOIN LATERAL (SELECT coalesce(nullif(s.market, ''), CASE
		WHEN b.ts_code LIKE '%%.BJ' THEN '北交所'
		WHEN b.ts_code LIKE '%%.SZ' AND (b.ts_code LIKE '300%%' OR b.ts_code LIKE '301%%') THEN '创业板'
		WHEN b.ts_code LIKE '%%.SH' AND (b.ts_code LIKE '688%%' OR b.ts_code LIKE '689%%') THEN '科创板'
		ELSE '主板' END) AS board) g
	CROSS JOIN LATERAL (SELECT CASE
		WHEN g.board IN ('创业板', '科创板') THEN 20
		WHEN g.board = '北交所' THEN 30
		WHEN s.name LIKE '%%ST%%' THEN 5
		ELSE 10 END AS pct) l
	WHERE b.trade_date = %[1]s`

// daily_basic in dayRows: joined, or an empty row of it.
const (
	dayBasic   = `LEFT JOIN daily_basic d ON d.trade_date = b.trade_date AND d.ts_code = b.ts_code`
	dayNoBasic = `CROSS JOIN (SELECT NULL::double precision AS turnover_rate, NULL::double precision AS pe_ttm) d`
)

// daySortColumns maps market.DaySortKeys to columns of dayRows.
var daySortColumns = map[string]string{
	"code": "ts_code", "pct_chg": "pct_chg", "close": "close", "vol": "vol",
	"amount": "amount", "turnover_rate": "turnover_rate", "pe_ttm": "pe_ttm",
}

// dayFilter is the SQL condition of q's filters over dayRows' columns. Its values come
// from market's whitelists and are quoted all the same.
func dayFilter(q market.DayQuery) string {
	conds := []string{"true"}
	if board, ok := market.BoardOfSlug(q.Board); ok {
		conds = append(conds, "board = "+quote(board))
	}
	if q.Hit == market.LimitUp || q.Hit == market.LimitDown {
		conds = append(conds, "hit = "+quote(string(q.Hit)))
	}
	return strings.Join(conds, " AND ")
}

// dayOrder is the ORDER BY of q: its sort key (empty values last), then the code.
func dayOrder(q market.DayQuery) (string, error) {
	col, ok := daySortColumns[q.Sort]
	if !ok {
		return "", fmt.Errorf("%w: unknown sort key %q", market.ErrInvalidInput, q.Sort)
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	if col == "ts_code" {
		return "ts_code " + dir, nil
	}
	return col + " " + dir + " NULLS LAST, ts_code", nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Day returns q's page of the day with the counts and totals of every stock q's filters
// keep, and the nearest earlier and later days with data. A day without any row is a
// *market.NoDayError. Everything is read in one snapshot, so a day being reloaded meanwhile
// is seen before or after, never half.
func (m DayMarkets) Day(ctx context.Context, q market.DayQuery) (*market.DayMarket, error) {
	order, err := dayOrder(q)
	if err != nil {
		return nil, err
	}
	out := &market.DayMarket{Date: q.Date.Format(market.DateLayout), Limit: q.Limit, Offset: q.Offset, Items: []market.DayRow{}}
	err = pgx.BeginTxFunc(ctx, m.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// A day is a few thousand rows: starting parallel workers for them costs more
		// than it saves, and on a busy server makes the slowest answers slower.
		if _, err := tx.Exec(ctx, "SET LOCAL max_parallel_workers_per_gather = 0"); err != nil {
			return err
		}
		prev, next, err := nearestDays(ctx, tx, q.Date)
		if err != nil {
			return err
		}
		out.Prev, out.Next = dateText(prev), dateText(next)
		if err := dayCounts(ctx, tx, q, out); err != nil {
			return err
		}
		if out.Stocks == 0 {
			return &market.NoDayError{Date: q.Date, Prev: prev, Next: next}
		}
		if q.Limit <= 0 {
			return nil
		}
		out.Items, err = dayPage(ctx, tx, q, order)
		return err
	})
	if err != nil {
		var nd *market.NoDayError
		if errors.As(err, &nd) {
			return nil, err
		}
		return nil, fmt.Errorf("reading the market of %s: %w", out.Date, err)
	}
	return out, nil
}

// dayCounts fills the day's stock count and the filtered count, breadth and totals.
func dayCounts(ctx context.Context, tx pgx.Tx, q market.DayQuery, out *market.DayMarket) error {
	f := dayFilter(q)
	sql := fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE %[2]s),
			count(*) FILTER (WHERE %[2]s AND pct_chg > 0), count(*) FILTER (WHERE %[2]s AND pct_chg < 0),
			count(*) FILTER (WHERE %[2]s AND hit = 'up'), count(*) FILTER (WHERE %[2]s AND hit = 'down'),
			coalesce(sum(vol) FILTER (WHERE %[2]s), 0), coalesce(sum(amount) FILTER (WHERE %[2]s), 0)
		FROM (%[1]s) r`, fmt.Sprintf(dayRows, "$1", dayNoBasic), f)
	b := &out.Breadth
	err := tx.QueryRow(ctx, sql, q.Date).Scan(&out.Stocks, &out.Total, &b.Up, &b.Down, &b.LimitUp, &b.LimitDown, &out.Vol, &out.Amount)
	b.Flat = out.Total - b.Up - b.Down
	return err
}

// dayPage reads q's page of rows in order.
func dayPage(ctx context.Context, tx pgx.Tx, q market.DayQuery, order string) ([]market.DayRow, error) {
	sql := fmt.Sprintf(`SELECT ts_code, name, board, close, pre_close, pct_chg, vol, amount, turnover_rate, pe_ttm, hit
		FROM (%s) r WHERE %s ORDER BY %s LIMIT $2 OFFSET $3`, fmt.Sprintf(dayRows, "$1", dayBasic), dayFilter(q), order)
	rows, err := tx.Query(ctx, sql, q.Date, q.Limit, q.Offset)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (market.DayRow, error) {
		var d market.DayRow
		err := r.Scan(&d.TSCode, &d.Name, &d.Board, &d.Close, &d.PreClose, &d.PctChg, &d.Vol, &d.Amount,
			&d.TurnoverRate, &d.PETTM, &d.Limit)
		return d, err
	})
}

// nearestDays are the latest day with data before day and the earliest after it.
func nearestDays(ctx context.Context, tx pgx.Tx, day time.Time) (prev, next *time.Time, err error) {
	err = tx.QueryRow(ctx, `SELECT (SELECT max(trade_date) FROM daily_bar WHERE trade_date < $1),
		(SELECT min(trade_date) FROM daily_bar WHERE trade_date > $1)`, day).Scan(&prev, &next)
	return prev, next, err
}

func dateText(d *time.Time) *string {
	if d == nil {
		return nil
	}
	s := d.Format(market.DateLayout)
	return &s
}

// DayCSVColumns are the columns of a day's CSV, in order, after its header line.
var DayCSVColumns = []string{"trade_date", "ts_code", "name", "board", "open", "high", "low", "close",
	"pre_close", "change", "pct_chg", "vol", "amount", "turnover_rate", "pe_ttm", "limit"}

// ExportDay writes every stock of the day that q's filters keep, in q's order, to w as CSV
// with a header line, straight from COPY … TO STDOUT: rows reach w as PostgreSQL sends
// them, nothing is held in memory. It returns how many rows it wrote.
func (m DayMarkets) ExportDay(ctx context.Context, w io.Writer, q market.DayQuery) (int64, error) {
	order, err := dayOrder(q)
	if err != nil {
		return 0, err
	}
	cols := strings.Join(DayCSVColumns[:len(DayCSVColumns)-1], ", ") + `, hit AS "limit"`
	// COPY takes no parameters: the date is a literal of a parsed date, the rest comes
	// from whitelists.
	sql := fmt.Sprintf(`COPY (SELECT %s FROM (%s) r WHERE %s ORDER BY %s) TO STDOUT WITH (FORMAT csv, HEADER true)`,
		cols, fmt.Sprintf(dayRows, quote(q.Date.Format(market.DateLayout))+"::date", dayBasic), dayFilter(q), order)
	conn, err := m.Pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	tag, err := conn.Conn().PgConn().CopyTo(ctx, w, sql)
	if err != nil {
		return 0, fmt.Errorf("exporting %s: %w", q.Date.Format(market.DateLayout), err)
	}
	return tag.RowsAffected(), nil
}
