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

// Warehouse reads the loaded market data for the pages and the API: the stock list,
// one stock's bars (raw or adjusted), its valuation metrics and factor changes, and a
// CSV export streamed from COPY. Every query of the data tables filters on ts_code and
// a range of trade_date, the access path the tables are indexed for.
type Warehouse struct {
	pool *pgxpool.Pool
}

// NewWarehouse reads the warehouse through pool.
func NewWarehouse(pool *pgxpool.Pool) *Warehouse { return &Warehouse{pool: pool} }

// stockColumns are stock_basic's columns that market.Stock holds, in scanStock's order.
const stockColumns = `ts_code, coalesce(symbol, ''), coalesce(name, ''), coalesce(cnspell, ''), coalesce(area, ''),
	coalesce(industry, ''), coalesce(market, ''), coalesce(exchange, ''), coalesce(list_status, ''), list_date, delist_date`

func scanStock(r pgx.CollectableRow) (market.Stock, error) {
	var s market.Stock
	err := r.Scan(&s.TSCode, &s.Symbol, &s.Name, &s.Cnspell, &s.Area, &s.Industry, &s.Market, &s.Exchange,
		&s.ListStatus, &s.ListDate, &s.DelistDate)
	return s, err
}

// Stock returns the stock_basic row of tsCode, or market.ErrNotFound.
func (w *Warehouse) Stock(ctx context.Context, tsCode string) (*market.Stock, error) {
	rows, err := w.pool.Query(ctx, `SELECT `+stockColumns+` FROM stock_basic WHERE ts_code = $1`, tsCode)
	if err != nil {
		return nil, fmt.Errorf("reading stock %s: %w", tsCode, err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanStock)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("stock %s: %w", tsCode, market.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading stock %s: %w", tsCode, err)
	}
	return &s, nil
}

// likeEscape escapes LIKE's wildcards in s.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SearchStocks returns up to limit stocks matching q, best first: an exact code or
// name, then codes starting with q, pinyin initials starting with q, names starting
// with q, names containing q; listed stocks before the others within each.
func (w *Warehouse) SearchStocks(ctx context.Context, q string, limit int) ([]market.Stock, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}
	esc := likeEscape(q)
	rows, err := w.pool.Query(ctx, `
		SELECT `+stockColumns+` FROM (
			SELECT *, CASE
				WHEN ts_code = upper($1) OR symbol = $1 OR name = $1 THEN 0
				WHEN ts_code LIKE upper($2) || '%' THEN 1
				WHEN lower(cnspell) LIKE lower($2) || '%' THEN 2
				WHEN name LIKE $2 || '%' THEN 3
				ELSE 4 END AS rank
			FROM stock_basic
			WHERE ts_code LIKE upper($2) || '%' OR lower(cnspell) LIKE lower($2) || '%'
				OR name ILIKE '%' || $2 || '%'
		) s
		ORDER BY rank, list_status = 'L' DESC, ts_code
		LIMIT $3`, q, esc, limit)
	if err != nil {
		return nil, fmt.Errorf("searching stocks: %w", err)
	}
	return pgx.CollectRows(rows, scanStock)
}

// barSource is the table or view of q's prices: daily_bar raw, daily_qfq or daily_hfq
// (migration 012 defines the adjustments once).
func barSource(a market.Adjust) string {
	switch a {
	case market.AdjustQFQ:
		return "daily_qfq"
	case market.AdjustHFQ:
		return "daily_hfq"
	}
	return "daily_bar"
}

// barColumns are the columns of a bar, the export's and Bars' alike.
const barColumns = `b.ts_code, b.trade_date, b.open, b.high, b.low, b.close, b.pre_close, b.change, b.pct_chg,
	b.vol, b.amount, f.adj_factor`

// barsSQL selects q's bars with their factor, in date order; $1 ts_code, $2 start, $3 end.
// With metrics, each bar also has the day's pe_ttm, pb and turnover_rate.
func barsSQL(q market.BarQuery, metrics bool) string {
	extra, join := "", ""
	if metrics {
		extra = ", d.pe_ttm, d.pb, d.turnover_rate"
		join = "LEFT JOIN daily_basic d ON d.ts_code = b.ts_code AND d.trade_date = b.trade_date"
	}
	return `SELECT ` + barColumns + extra + `
		FROM ` + barSource(q.Adjust) + ` b
		LEFT JOIN adj_factor f ON f.ts_code = b.ts_code AND f.trade_date = b.trade_date
		` + join + `
		WHERE b.ts_code = $1 AND b.trade_date BETWEEN $2 AND $3
		ORDER BY b.trade_date`
}

// Bars returns q's bars in date order. A day without a factor has no adjusted bar.
func (w *Warehouse) Bars(ctx context.Context, q market.BarQuery) ([]market.Bar, error) {
	rows, err := w.pool.Query(ctx, barsSQL(q, false), q.TSCode, q.Start, q.End)
	if err != nil {
		return nil, fmt.Errorf("reading bars of %s: %w", q.TSCode, err)
	}
	out := []market.Bar{}
	var b market.Bar
	var code string
	var day time.Time
	_, err = pgx.ForEachRow(rows, []any{&code, &day, &b.Open, &b.High, &b.Low, &b.Close, &b.PreClose, &b.Change,
		&b.PctChg, &b.Vol, &b.Amount, &b.Factor}, func() error {
		b.Date = day.Format(market.DateLayout)
		out = append(out, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading bars of %s: %w", q.TSCode, err)
	}
	return out, nil
}

// Chart returns what the stock page draws for q: bars, metrics, suspended days and
// factor changes.
func (w *Warehouse) Chart(ctx context.Context, q market.BarQuery) (*market.Chart, error) {
	ch := &market.Chart{TSCode: q.TSCode, Adjust: q.Adjust, Metrics: map[market.Metric][]*float64{},
		Dates: []string{}, Suspended: []string{}, FactorChanges: []market.FactorChange{}}
	if err := w.chartBars(ctx, q, ch); err != nil {
		return nil, err
	}
	if len(ch.Dates) == 0 {
		return ch, nil
	}
	first, _ := market.ParseDate(ch.Dates[0])
	last, _ := market.ParseDate(ch.Dates[len(ch.Dates)-1])
	var err error
	if ch.Suspended, err = w.suspended(ctx, ch.Dates, first, last); err != nil {
		return nil, err
	}
	if ch.FactorChanges, err = w.factorChanges(ctx, q); err != nil {
		return nil, err
	}
	return ch, nil
}

// chartBars fills ch's columns from q's bars and the day's metrics.
func (w *Warehouse) chartBars(ctx context.Context, q market.BarQuery, ch *market.Chart) error {
	rows, err := w.pool.Query(ctx, barsSQL(q, true), q.TSCode, q.Start, q.End)
	if err != nil {
		return fmt.Errorf("reading the chart of %s: %w", q.TSCode, err)
	}
	var b market.Bar
	var code string
	var day time.Time
	var pe, pb, turnover *float64
	_, err = pgx.ForEachRow(rows, []any{&code, &day, &b.Open, &b.High, &b.Low, &b.Close, &b.PreClose, &b.Change,
		&b.PctChg, &b.Vol, &b.Amount, &b.Factor, &pe, &pb, &turnover}, func() error {
		ch.Dates = append(ch.Dates, day.Format(market.DateLayout))
		ch.Open, ch.High, ch.Low, ch.Close = append(ch.Open, b.Open), append(ch.High, b.High), append(ch.Low, b.Low), append(ch.Close, b.Close)
		ch.Vol = append(ch.Vol, b.Vol)
		ch.Metrics[market.MetricPETTM] = append(ch.Metrics[market.MetricPETTM], pe)
		ch.Metrics[market.MetricPB] = append(ch.Metrics[market.MetricPB], pb)
		ch.Metrics[market.MetricTurnover] = append(ch.Metrics[market.MetricTurnover], turnover)
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the chart of %s: %w", q.TSCode, err)
	}
	return nil
}

// suspended returns the trading days from first to last whose daily data is loaded
// (coverage) but that are not among traded (the stock's bar dates, in order): the days it
// did not trade. The difference is taken here, not by probing daily_bar once a day.
func (w *Warehouse) suspended(ctx context.Context, traded []string, first, last time.Time) ([]string, error) {
	rows, err := w.pool.Query(ctx, `
		SELECT c.day FROM trade_calendar c
		JOIN coverage v ON v.dataset = 'daily' AND v.day = c.day
		WHERE c.open AND c.day BETWEEN $1 AND $2
		ORDER BY c.day`, first, last)
	if err != nil {
		return nil, fmt.Errorf("reading the loaded days from %s to %s: %w", first.Format(market.DateLayout), last.Format(market.DateLayout), err)
	}
	out := []string{}
	var day time.Time
	i := 0
	_, err = pgx.ForEachRow(rows, []any{&day}, func() error {
		d := day.Format(market.DateLayout)
		for i < len(traded) && traded[i] < d {
			i++
		}
		if i == len(traded) || traded[i] != d {
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// factorChanges returns the days of q's range on which the stock's factor differs from
// its previous factor (the one before the range included).
func (w *Warehouse) factorChanges(ctx context.Context, q market.BarQuery) ([]market.FactorChange, error) {
	rows, err := w.pool.Query(ctx, `
		SELECT trade_date, adj_factor, prev FROM (
			SELECT trade_date, adj_factor, lag(adj_factor) OVER (ORDER BY trade_date) AS prev
			FROM adj_factor
			WHERE ts_code = $1 AND trade_date <= $3 AND trade_date >= coalesce(
				(SELECT max(trade_date) FROM adj_factor WHERE ts_code = $1 AND trade_date < $2), $2)
		) f
		WHERE trade_date >= $2 AND prev IS NOT NULL AND adj_factor IS DISTINCT FROM prev
		ORDER BY trade_date`, q.TSCode, q.Start, q.End)
	if err != nil {
		return nil, fmt.Errorf("reading the factors of %s: %w", q.TSCode, err)
	}
	out := []market.FactorChange{}
	var day time.Time
	var to, from float64
	_, err = pgx.ForEachRow(rows, []any{&day, &to, &from}, func() error {
		fc := market.FactorChange{Date: day.Format(market.DateLayout), From: from, To: to}
		if from != 0 {
			fc.Factor = to / from
		}
		out = append(out, fc)
		return nil
	})
	return out, err
}

// quoteLiteral is s as an SQL string literal (COPY takes no parameters).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ExportCSV writes q's bars to out as CSV with a header line, straight from PostgreSQL's
// COPY ... TO STDOUT on a connection of its own: rows reach out as the server produces
// them, never gathered in memory. q.TSCode must be a checked code
// (market.ParseTSCode). It returns the rows written.
func (w *Warehouse) ExportCSV(ctx context.Context, out io.Writer, q market.BarQuery) (int64, error) {
	sql := strings.NewReplacer(
		"$1", quoteLiteral(q.TSCode),
		"$2", quoteLiteral(q.Start.Format(market.DateLayout))+"::date",
		"$3", quoteLiteral(q.End.Format(market.DateLayout))+"::date",
	).Replace(barsSQL(q, false))
	conn, err := w.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	tag, err := conn.Conn().PgConn().CopyTo(ctx, out, "COPY ("+sql+") TO STDOUT WITH (FORMAT csv, HEADER true)")
	if err != nil {
		return 0, fmt.Errorf("exporting bars of %s: %w", q.TSCode, err)
	}
	return tag.RowsAffected(), nil
}
