package handlers

import (
	"net/http"

	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"
)

// routes lists every route of the app.
func (s *server) routes(app *fiber.App) {
	app.Use(recover.New())
	app.Use(securityHeaders())
	app.Use("/api", corsAPI(s.corsOrigins))
	app.Use(s.sameOrigin)

	// Pages and their htmx actions.
	app.Get("/", s.dashboard)
	app.Post("/batches", s.startForm)
	app.Get("/batches", s.history)
	app.Get("/batches/:task_id", s.batchPage)
	app.Get("/batches/:task_id/errors", s.errorsPage)
	for _, action := range []string{"cancel", "pause", "resume", "retry"} {
		app.Post("/batches/:task_id/"+action, s.pageAction(action))
	}
	app.Get("/coverage", s.coveragePage)
	app.Post("/coverage/sync", s.coverageSync)
	app.Get("/lang/:lang", s.setLang)

	// Live feeds.
	serve := fws.New(s.wsServe)
	app.Get("/ws/batches/:task_id", s.wsUpgrade, s.wsBatch, serve)
	app.Get("/ws/dashboard", s.wsUpgrade, s.wsDashboard, serve)
	app.Get("/ws/coverage", s.wsUpgrade, s.wsCoverage, serve)
	app.Get("/ws/history", s.wsUpgrade, s.wsHistory, serve)

	// The JSON API, the old system's paths first.
	api := app.Group("/api/v1", requireJSON)
	api.Post("/sync-status/sync/batch", s.apiStart)
	api.Get("/sync-status/sync/batch/active", s.legacyActive)
	api.Get("/sync-status/sync/batch/progress/:task_id", s.legacyProgress)
	api.Get("/sync-status/list", s.legacyList)
	for _, action := range []string{"cancel", "pause", "resume", "retry"} {
		api.Post("/sync-status/sync/batch/:task_id/"+action, s.apiAction(action))
	}
	api.Get("/sync-status/sync/batch/:task_id/errors", s.apiErrors)
	api.Get("/sync-status/sync/batches", s.apiBatches)
	api.Get("/batches/active", s.apiActive)
	api.Get("/coverage", s.apiCoverage)
	api.Get("/openapi.json", s.apiDoc)
	api.Use(func(c *fiber.Ctx) error { return fiber.NewError(fiber.StatusNotFound, "no such endpoint") })

	app.Get("/healthz", s.health)
	s.metricsRoute(app)

	if s.static != nil {
		app.Use("/static", filesystem.New(filesystem.Config{
			Root:   http.FS(s.static),
			MaxAge: 3600,
		}))
	}
	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}
