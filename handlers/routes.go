package handlers

import (
	"net/http"

	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/marketsync/marketsync/internal/market"
)

// routes lists every route of the app with the role it needs: viewers watch, operators
// also act on batches, admins also manage users, tokens and settings.
func (s *server) routes(app *fiber.App) {
	app.Use(recover.New())
	app.Use(securityHeaders())
	app.Use("/api", corsAPI(s.corsOrigins))
	app.Use(s.sameOrigin)

	// Open to everyone: the health check, the files, the language, the API's document.
	app.Get("/healthz", s.health)
	s.metricsRoute(app)

	if s.static != nil {
		app.Use("/static", filesystem.New(filesystem.Config{
			Root:   http.FS(s.static),
			MaxAge: 3600,
		}))
	}
	app.Get("/lang/:lang", s.setLang)
	app.Get("/api/v1/openapi.json", s.apiDoc)

	// Everything else knows who is asking.
	app.Use(s.identify)
	// A login opens a new session (switching accounts in a signed-in browser too): it has
	// no session's token to carry, so it comes before the CSRF check, behind the
	// same-origin one like every POST.
	app.Get("/login", s.loginPage)
	app.Post("/login", s.login)
	app.Use(s.csrf)
	viewer, operator, admin := s.need(market.RoleViewer), s.need(market.RoleOperator), s.need(market.RoleAdmin)

	app.Post("/logout", s.logout)
	app.Get("/account", s.signedIn, s.accountPage)
	app.Post("/account/password", s.signedIn, s.changePassword)
	app.Post("/account/tokens", s.signedIn, s.addToken)
	app.Post("/account/tokens/:id/revoke", s.signedIn, s.revokeOwnToken)
	app.Post("/account/sessions/end", s.signedIn, s.endOwnSessions)

	// Pages and their htmx actions.
	app.Get("/", viewer, s.dashboard)
	app.Post("/batches", operator, s.startForm)
	app.Get("/batches", viewer, s.history)
	app.Get("/batches/:task_id", viewer, s.batchPage)
	app.Get("/batches/:task_id/errors", viewer, s.errorsPage)
	for _, action := range []string{"cancel", "pause", "resume", "retry"} {
		app.Post("/batches/:task_id/"+action, operator, s.pageAction(action))
	}
	app.Get("/coverage", viewer, s.coveragePage)
	app.Post("/coverage/sync", operator, s.coverageSync)

	// Administration.
	s.adminRoutes(app.Group("/admin", admin))
	settings := app.Group("/settings", admin)
	s.settingsRoutes(settings)
	s.alertRoutes(settings)

	// Live feeds.
	serve := fws.New(s.wsServe)
	app.Get("/ws/batches/:task_id", viewer, s.wsUpgrade, s.wsBatch, serve)
	app.Get("/ws/dashboard", viewer, s.wsUpgrade, s.wsDashboard, serve)
	app.Get("/ws/coverage", viewer, s.wsUpgrade, s.wsCoverage, serve)
	app.Get("/ws/history", viewer, s.wsUpgrade, s.wsHistory, serve)

	// The JSON API, the old system's paths first.
	api := app.Group("/api/v1", requireJSON)
	api.Post("/sync-status/sync/batch", operator, s.apiStart)
	api.Get("/sync-status/sync/batch/active", viewer, s.legacyActive)
	api.Get("/sync-status/sync/batch/progress/:task_id", viewer, s.legacyProgress)
	api.Get("/sync-status/list", viewer, s.legacyList)
	for _, action := range []string{"cancel", "pause", "resume", "retry"} {
		api.Post("/sync-status/sync/batch/:task_id/"+action, operator, s.apiAction(action))
	}
	api.Get("/sync-status/sync/batch/:task_id/errors", viewer, s.apiErrors)
	api.Get("/sync-status/sync/batches", viewer, s.apiBatches)
	api.Get("/batches/active", viewer, s.apiActive)
	api.Get("/coverage", viewer, s.apiCoverage)
	s.dayRoutes(app, api, viewer) // a day's market: /days/:date, its CSV, /api/v1/days/:date
	s.stockRoutes(app, api, viewer)
	api.Use(func(c *fiber.Ctx) error { return fiber.NewError(fiber.StatusNotFound, "no such endpoint") })

	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}

// adminRoutes are the admin's pages: users, every token, the audit trail.
func (s *server) adminRoutes(adm fiber.Router) {
	adm.Get("/users", s.usersPage)
	adm.Post("/users", s.addUser)
	adm.Post("/users/:id", s.updateUser)
	adm.Post("/users/:id/password", s.setUserPassword)
	adm.Post("/users/:id/sessions/end", s.endUserSessions)
	adm.Post("/users/:id/remove", s.removeUser)
	adm.Post("/tokens/:id/revoke", s.revokeAnyToken)
	adm.Get("/audit", s.auditPage)
}
