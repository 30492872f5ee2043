package handlers

import (
	"context"
	"errors"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/marketsync/marketsync/internal/market"
	"github.com/marketsync/marketsync/views"
)

// DayMarkets reads a trading day's market from the warehouse, never from a source.
// store.DayMarkets satisfies it.
type DayMarkets interface {
	Day(ctx context.Context, q market.DayQuery) (*market.DayMarket, error)
	ExportDay(ctx context.Context, w io.Writer, q market.DayQuery) (int64, error)
}

// dayRoutes are a day's page, its CSV and its JSON API; viewers may see them all.
func (s *server) dayRoutes(app fiber.Router, api fiber.Router, viewer fiber.Handler) {
	if s.days == nil {
		return
	}
	app.Get("/days/:date", viewer, s.dayPage)
	app.Get("/days/:date/csv", viewer, s.dayCSV)
	api.Get("/days/:date", viewer, s.apiDay)
}

// dayQuery reads the route's date and ?sort=&order=&board=&price_limit=. A bad date or an
// unknown value is a 400.
func dayQuery(c *fiber.Ctx) (market.DayQuery, error) {
	date, err := market.ParseDate(c.Params("date"))
	if err != nil {
		return market.DayQuery{}, badRequest(err.Error())
	}
	q, err := market.NewDayQuery(date, c.Query(views.ParamSort), c.Query(views.ParamOrder),
		c.Query(views.ParamBoard), c.Query(views.ParamPriceLimit))
	if err != nil {
		return q, badRequest(err.Error())
	}
	return q, nil
}

// dayPage is GET /days/:date?sort=&order=&board=&price_limit=&page=: a page of the day's
// stocks; a date without data answers 404 with the nearest days that have some.
func (s *server) dayPage(c *fiber.Ctx) error {
	q, err := dayQuery(c)
	if err != nil {
		return err
	}
	p, err := pageNumber(c)
	if err != nil {
		return err
	}
	q.Limit, q.Offset = market.DayPageSize, (p-1)*market.DayPageSize
	m, err := s.days.Day(c.UserContext(), q)
	var nd *market.NoDayError
	if errors.As(err, &nd) {
		return s.render(c, fiber.StatusNotFound, views.DayMissingPage(s.locale(c), s.missingDay(nd)))
	}
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, views.DayPage(s.locale(c), views.DayData{Market: m, Query: q, Page: p}))
}

// missingDay says why a date has no data: closed, outside the calendar, or not loaded.
func (s *server) missingDay(nd *market.NoDayError) views.DayMissing {
	d := views.DayMissing{Date: nd.Date.Format(market.DateLayout)}
	open, err := s.cal.IsTradingDay(nd.Date)
	d.Outside, d.Closed = err != nil, err == nil && !open
	if nd.Prev != nil {
		d.Prev = nd.Prev.Format(market.DateLayout)
	}
	if nd.Next != nil {
		d.Next = nd.Next.Format(market.DateLayout)
	}
	return d
}

// apiDay is GET /api/v1/days/:date?limit=&offset=&sort=&order=&board=&price_limit=.
func (s *server) apiDay(c *fiber.Ctx) error {
	q, err := dayQuery(c)
	if err != nil {
		return err
	}
	if q.Limit, q.Offset, err = paging(c, market.DayPageSize); err != nil {
		return err
	}
	m, err := s.days.Day(c.UserContext(), q)
	if err != nil {
		return err
	}
	return ok(c, fiber.StatusOK, m)
}

// dayCSV is GET /days/:date/csv with the page's filters and order: every stock they keep,
// streamed from PostgreSQL's COPY into the response as it comes (never the whole file in
// memory). A date without data is a 404 before anything is sent.
func (s *server) dayCSV(c *fiber.Ctx) error {
	q, err := dayQuery(c)
	if err != nil {
		return err
	}
	if _, err := s.days.Day(c.UserContext(), q); err != nil { // Limit 0: the counts only
		return err
	}
	return s.streamCSV(c, "marketsync-"+q.Date.Format(market.DateLayout)+".csv", func(ctx context.Context, w io.Writer) (int64, error) {
		return s.days.ExportDay(ctx, w, q)
	})
}
