// Package stockguru reads the old system's warehouse (StockGuru's table
// daily_stock_data) as a marketsync source, day by day, into daily_bar in Tushare's codes
// and units: how a team moving off the old system brings its history over.
//
// The old table, and what it holds (from the old system's code; it has no fixtures):
//
//	stock_code     6 digits, no exchange          trade_date    date
//	open_price, high_price, low_price, close_price numeric(10,2), forward-adjusted (qfq)
//	                                               as of the day the old system synced it
//	volume         bigint: its schema says lots (手); the rows its usual (Baostock) path
//	               wrote are shares                amount        numeric, yuan
//	change_pct     %                               change_amount yuan, mostly NULL
//	stock_name, turnover_rate, amplitude
//
// The exchange comes from the code (60/68/900 Shanghai, 00/30/200 Shenzhen, 4/8/92
// Beijing); Shanghai indices that the old system stored under 000xxx codes (where they
// collide with Shenzhen stocks) and Shenzhen indices 399xxx are skipped. Volume is read
// as shares or lots by comparing it with the amount, row by row; amount becomes thousand
// yuan; pre_close is close − change_amount, or derived from change_pct when that is
// missing.
package stockguru

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/marketsync/marketsync/internal/market"
)

// EnvURL names the old database's connection string.
const EnvURL = "STOCKGURU_DATABASE_URL"

// Source reads daily_stock_data from the old database.
type Source struct {
	pool *pgxpool.Pool
}

// New returns the source on the database at url (it connects on first use).
func New(url string) (*Source, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvURL, err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvURL, err)
	}
	return &Source{pool: pool}, nil
}

// Name is "stockguru".
func (s *Source) Name() string { return "stockguru" }

// Datasets is daily only: the old system kept daily bars.
func (s *Source) Datasets() []string { return []string{"daily"} }

// Notes says what the old data is.
func (s *Source) Notes() []string { return []string{"note.stockguru_qfq"} }

// Close closes the connections to the old database.
func (s *Source) Close() error { s.pool.Close(); return nil }

// Fetch reads the old system's rows of day, converted; a day it never synced has none.
func (s *Source) Fetch(ctx context.Context, ds market.Dataset, day time.Time) (market.Rows, error) {
	if ds.Name != "daily" {
		return nil, fmt.Errorf("stockguru source: %w %q (serves daily)", market.ErrUnknownDataset, ds.Name)
	}
	y, m, d := day.Date()
	day = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	rows, err := s.pool.Query(ctx, `
		SELECT stock_code, coalesce(stock_name, ''), open_price::float8, high_price::float8, low_price::float8,
			close_price::float8, volume::float8, amount::float8, change_pct::float8, change_amount::float8,
			turnover_rate::float8
		FROM daily_stock_data WHERE trade_date = $1 ORDER BY stock_code`, day)
	if err != nil {
		return nil, fmt.Errorf("reading the old daily_stock_data of %s: %w", day.Format(market.DateLayout), err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		var r oldRow
		if err := rows.Scan(&r.code, &r.name, &r.open, &r.high, &r.low, &r.close, &r.volume, &r.amount,
			&r.changePct, &r.changeAmount, &r.turnover); err != nil {
			return nil, fmt.Errorf("reading the old daily_stock_data of %s: %w", day.Format(market.DateLayout), err)
		}
		if row, ok := r.convert(day); ok {
			out = append(out, row)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the old daily_stock_data of %s: %w", day.Format(market.DateLayout), err)
	}
	return market.NewRowSlice(out), nil
}

// oldRow is one row of daily_stock_data; NULL is nil.
type oldRow struct {
	code, name                             string
	open, high, low, close, volume, amount *float64
	changePct, changeAmount, turnover      *float64
}

// convert maps r into daily_bar's columns; ok is false for a row that is not an A-share
// stock (an index, a bond, a fund, an unknown code).
func (r oldRow) convert(day time.Time) ([]any, bool) {
	ts, ok := TSCode(r.code)
	if !ok || r.isIndex() {
		return nil, false
	}
	preClose := r.preClose()
	var change *float64
	if r.close != nil && preClose != nil {
		change = ptr(round(*r.close-*preClose, 2))
	}
	var amount *float64
	if r.amount != nil {
		amount = ptr(*r.amount / 1000)
	}
	return []any{ts, day, r.open, r.high, r.low, r.close, preClose, change, r.changePct, r.lots(), amount}, true
}

// TSCode turns a 6-digit code into a Tushare code by the exchanges' code ranges; ok is
// false for codes that are not stocks (399xxx Shenzhen indices, bonds, funds).
func TSCode(code string) (string, bool) {
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return "", false
	}
	switch {
	case strings.HasPrefix(code, "60"), strings.HasPrefix(code, "68"), strings.HasPrefix(code, "900"):
		return code + ".SH", true
	case strings.HasPrefix(code, "92"), code[0] == '4', code[0] == '8':
		return code + ".BJ", true
	case strings.HasPrefix(code, "00"), strings.HasPrefix(code, "30"), strings.HasPrefix(code, "200"):
		return code + ".SZ", true
	}
	return "", false
}

// indexWords are in the names of the Shanghai indices the old system stored under
// 000xxx codes (上证指数, 新上证综指, 上证50, 沪深300, 中证500, ...).
var indexWords = []string{"指数", "综指", "上证", "沪深", "中证", "国证", "深证"}

// isIndex reports a Shanghai index stored under a 000xxx code: by its name, or by what
// only an index row has (trading volume without a turnover rate).
func (r oldRow) isIndex() bool {
	if !strings.HasPrefix(r.code, "000") {
		return false
	}
	for _, w := range indexWords {
		if strings.Contains(r.name, w) {
			return true
		}
	}
	return r.turnover == nil && r.volume != nil && *r.volume > 0
}

// preClose is close − change_amount, or close ÷ (1 + change_pct/100), to the cent.
func (r oldRow) preClose() *float64 {
	switch {
	case r.close == nil:
		return nil
	case r.changeAmount != nil:
		return ptr(round(*r.close-*r.changeAmount, 2))
	case r.changePct != nil && *r.changePct > -100:
		return ptr(round(*r.close/(1+*r.changePct/100), 2))
	}
	return nil
}

// sharesRatio is the least amount ÷ (close × volume) taken as a volume in lots: about 1
// for shares, about 100 for lots (forward-adjusted closes lower an old day's price, so
// the ratio of shares can drift above 1, never near 100).
const sharesRatio = 10

// lots is the volume in lots of 100 shares. The old schema says lots; its usual path
// stored shares: a row whose amount matches close × volume is in shares. A row that
// cannot tell (no amount, no trading) is taken as the schema says.
func (r oldRow) lots() *float64 {
	if r.volume == nil {
		return nil
	}
	if r.amount != nil && r.close != nil && *r.volume > 0 && *r.close > 0 &&
		*r.amount/(*r.close**r.volume) < sharesRatio {
		return ptr(*r.volume / 100)
	}
	return r.volume
}

func ptr(f float64) *float64 { return &f }

func round(f float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(f*p) / p
}
