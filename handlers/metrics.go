package handlers

import (
	"crypto/subtle"
	"github.com/marketsync/marketsync/internal/market"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsRoute serves GET /metrics in Prometheus' text format, when the app has metrics.
// With a MetricsToken it asks for "Authorization: Bearer <token>" (401 otherwise).
func (s *server) metricsRoute(app *fiber.App) {
	if s.metrics == nil {
		return
	}
	h := adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{
		// A collector that fails (PostgreSQL away) leaves its metrics out; the rest answer.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	app.Get("/metrics", s.metricsAuth, h)
}

// metricsAuth lets a scrape through that brings the metrics token when one is
// configured (MARKETSYNC_METRICS_TOKEN); otherwise, like every page, it needs a viewer:
// Prometheus sends a viewer's API token (marketsync token add prometheus --role viewer).
func (s *server) metricsAuth(c *fiber.Ctx) error {
	if s.metricsToken == "" {
		p, err := s.principalOf(c)
		if err != nil {
			return err
		}
		c.Locals(principalKey, p)
		return s.need(market.RoleViewer)(c)
	}
	got, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.metricsToken)) != 1 {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="marketsync metrics"`)
		return fiber.NewError(fiber.StatusUnauthorized, "the metrics need a bearer token")
	}
	return c.Next()
}
