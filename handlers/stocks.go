package handlers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/views"
)

// Stocks is what the stock pages and the bars API read from the warehouse; it never
// asks an upstream. *store.Warehouse satisfies it.
type Stocks interface {
	Stock(ctx context.Context, tsCode string) (*market.Stock, error)
	SearchStocks(ctx context.Context, q string, limit int) ([]market.Stock, error)
	Bars(ctx context.Context, q market.BarQuery) ([]market.Bar, error)
	Chart(ctx context.Context, q market.BarQuery) (*market.Chart, error)
	ExportCSV(ctx context.Context, w io.Writer, q market.BarQuery) (int64, error)
}

const (
	// searchLimit is how many stocks a search shows.
	searchLimit = 10
	// maxSearch bounds a search's length in characters.
	maxSearch = 40
	// exportTimeout bounds one CSV export: a day's market, or a stock's twenty years.
	exportTimeout = 10 * time.Minute
)

// firstBarDay is the default start of a stock's range: before the exchanges opened.
var firstBarDay = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// stockRoutes are the stock pages, the search and the bars API, all a viewer's.
func (s *server) stockRoutes(app fiber.Router, api fiber.Router, viewer fiber.Handler) {
	if s.stocks == nil {
		return
	}
	app.Get("/stocks/search", viewer, s.stockSearch)
	app.Get("/stocks/:ts_code", viewer, s.stockPage)
	app.Get("/stocks/:ts_code/chart", viewer, s.stockChart)
	api.Get("/bars", viewer, s.apiBars)
	api.Get("/bars.csv", viewer, s.apiBarsCSV)
}

// stockSearch is GET /stocks/search?q=: for htmx, the list of matches under the header's
// search box; otherwise a page of them (the box without JavaScript).
func (s *server) stockSearch(c *fiber.Ctx) error {
	q := strings.TrimSpace(c.Query("q"))
	if utf8.RuneCountInString(q) > maxSearch {
		q = string([]rune(q)[:maxSearch])
	}
	found, err := s.stocks.SearchStocks(c.UserContext(), q, searchLimit)
	if err != nil {
		return err
	}
	loc := s.locale(c)
	if isHTMX(c) {
		return s.render(c, fiber.StatusOK, views.StockSearchResults(loc, q, found))
	}
	return s.render(c, fiber.StatusOK, views.StockSearchPage(loc, q, found))
}

// stockCode is the route's :ts_code, checked.
func stockCode(c *fiber.Ctx) (string, error) {
	code, err := market.ParseTSCode(c.Params("ts_code"))
	if err != nil {
		return "", &fieldError{Field: "ts_code", Key: "err.ts_code", Err: err}
	}
	return code, nil
}

// stockPage is GET /stocks/{ts_code}: the stock's basics, its chart and the export form.
func (s *server) stockPage(c *fiber.Ctx) error {
	code, err := stockCode(c)
	if err != nil {
		return err
	}
	st, err := s.stocks.Stock(c.UserContext(), code)
	if err != nil {
		return err
	}
	data := views.StockData{Stock: *st, Start: firstBarDay.Format(market.DateLayout), End: s.today().Format(market.DateLayout)}
	if st.ListDate != nil {
		data.Start = st.ListDate.Format(market.DateLayout)
	}
	return s.render(c, fiber.StatusOK, views.StockPage(s.locale(c), data))
}

// stockChart is GET /stocks/{ts_code}/chart?adj=: what the page's chart draws, over the
// stock's whole history.
func (s *server) stockChart(c *fiber.Ctx) error {
	code, err := stockCode(c)
	if err != nil {
		return err
	}
	adj, err := market.ParseAdjust(c.Query("adj"))
	if err != nil {
		return &fieldError{Field: "adj", Err: err}
	}
	if _, err := s.stocks.Stock(c.UserContext(), code); err != nil {
		return err
	}
	ch, err := s.stocks.Chart(c.UserContext(), market.BarQuery{TSCode: code, Start: firstBarDay, End: s.today(), Adjust: adj})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(ch)
}

// barQuery reads ?ts_code=&start=&end=&adj= and checks that the stock exists. Without
// dates the range is the stock's whole history.
func (s *server) barQuery(c *fiber.Ctx) (market.BarQuery, *market.Stock, error) {
	q := market.BarQuery{Start: firstBarDay, End: s.today()}
	var err error
	if c.Query("ts_code") == "" {
		return q, nil, badRequest("ts_code is required, such as 600519.SH")
	}
	if q.TSCode, err = market.ParseTSCode(c.Query("ts_code")); err != nil {
		return q, nil, &fieldError{Field: "ts_code", Err: err}
	}
	if q.Adjust, err = market.ParseAdjust(c.Query("adj")); err != nil {
		return q, nil, &fieldError{Field: "adj", Err: err}
	}
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"start", &q.Start}, {"end", &q.End}} {
		if v := c.Query(f.name); v != "" {
			if *f.to, err = market.ParseDate(v); err != nil {
				return q, nil, &fieldError{Field: f.name, Err: err}
			}
		}
	}
	if err := q.Check(); err != nil {
		return q, nil, &fieldError{Field: "end", Err: err}
	}
	st, err := s.stocks.Stock(c.UserContext(), q.TSCode)
	return q, st, err
}

// apiBars is GET /api/v1/bars: one stock's bars over a range, raw or adjusted.
func (s *server) apiBars(c *fiber.Ctx) error {
	q, st, err := s.barQuery(c)
	if err != nil {
		return err
	}
	bars, err := s.stocks.Bars(c.UserContext(), q)
	if err != nil {
		return err
	}
	return ok(c, fiber.StatusOK, market.BarSeries{TSCode: q.TSCode, Name: st.Name, Adjust: q.Adjust,
		Start: q.Start.Format(market.DateLayout), End: q.End.Format(market.DateLayout), Bars: bars})
}

// apiBarsCSV is GET /api/v1/bars.csv: the same bars as CSV, streamed from PostgreSQL's
// COPY as it produces them. Bad input answers before the first byte; a failure midway
// can only cut the answer short (it is logged).
func (s *server) apiBarsCSV(c *fiber.Ctx) error {
	q, _, err := s.barQuery(c)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s_%s_%s_%s.csv", q.TSCode, q.Start.Format(market.DateLayout), q.End.Format(market.DateLayout), q.Adjust)
	return s.streamCSV(c, name, func(ctx context.Context, w io.Writer) (int64, error) {
		return s.stocks.ExportCSV(ctx, w, q)
	})
}

// streamCSV answers with a CSV file that export writes as PostgreSQL's COPY produces it
// (never the whole file in memory). The writer runs after the handler has returned, when
// Fiber's context is reused: it takes nothing from c. A failure midway can only cut the
// file short; it is logged.
func (s *server) streamCSV(c *fiber.Ctx, filename string, export func(ctx context.Context, w io.Writer) (int64, error)) error {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	log := s.log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		n, err := export(ctx, w)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			log.Warn("CSV export cut short", "file", filename, "rows", n, "err", err)
		}
	})
	return nil
}
