package handlers

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/websocket"
	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/marketsync/marketsync/internal/auth"
	"github.com/marketsync/marketsync/internal/live"
	"github.com/marketsync/marketsync/internal/market"
)

// Locals keys passed from the upgrade check to the socket handler. A topic outlives the
// request (the hub keeps it while anyone watches), so its strings are copies: Fiber's
// params and query values point into buffers that later requests reuse.
const (
	localTopic = "wsTopic"
	localLang  = "wsLang"
)

// wsUpgrade lets only WebSocket handshakes of this site's pages through (a page of
// another site gets 403: browsers send no CORS preflight for sockets) and notes the
// viewer's language.
func (s *server) wsUpgrade(c *fiber.Ctx) error {
	if !fws.IsWebSocketUpgrade(c) {
		return fiber.ErrUpgradeRequired
	}
	if err := s.checkOrigin(c); err != nil {
		return err
	}
	c.Locals(localLang, string(s.locale(c).Lang))
	return c.Next()
}

// wsBatch checks that the batch exists before its socket opens (404 otherwise).
func (s *server) wsBatch(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	if _, err := s.batches.Snapshot(c.UserContext(), id); err != nil {
		return batchErr(id, err)
	}
	c.Locals(localTopic, live.BatchTopic(strings.Clone(id)))
	return c.Next()
}

// wsDashboard sets the dashboard's topic.
func (s *server) wsDashboard(c *fiber.Ctx) error {
	c.Locals(localTopic, live.DashboardTopic())
	return c.Next()
}

// wsCoverage sets the topic of one dataset's year of coverage (?dataset=&year=).
func (s *server) wsCoverage(c *fiber.Ctx) error {
	dataset := c.Query("dataset")
	if _, err := market.LookupDataset(dataset); err != nil {
		return &fieldError{Field: "dataset", Err: err}
	}
	year, err := strconv.Atoi(c.Query("year"))
	if err != nil {
		return badRequest("year must be a number")
	}
	c.Locals(localTopic, live.CoverageTopic(strings.Clone(dataset), year))
	return c.Next()
}

// wsHistory sets the topic of one history page (?status=&dataset=&page=, as the page).
func (s *server) wsHistory(c *fiber.Ctx) error {
	f, err := s.historyFilter(c)
	if err != nil {
		return err
	}
	f.Dataset = strings.Clone(f.Dataset)
	c.Locals(localTopic, live.HistoryTopic(f))
	return c.Next()
}

// wsServe feeds one socket from the hub until the client leaves, falls behind (dropped
// at the write deadline) or the hub shuts down (closed with 1012 "server shutting down").
func (s *server) wsServe(conn *fws.Conn) {
	s.sockets.Add(1)
	defer s.sockets.Add(-1)
	topic, _ := conn.Locals(localTopic).(live.Topic)
	lang, _ := conn.Locals(localLang).(string)
	// The contrib Conn goes back to its pool when this function returns; the reader
	// goroutine holds the underlying connection instead.
	ws := conn.Conn
	sub, err := s.hub.Subscribe(topic, lang)
	if err != nil {
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseServiceRestart, live.ShutdownMessage), time.Now().Add(time.Second))
		return
	}
	if p, _ := conn.Locals(principalKey).(*auth.Principal); p != nil && p.Via != auth.ViaAnonymous {
		defer s.watchCredentials(ws, p)()
	}
	idle := 2*s.hub.PingInterval() + 10*time.Second
	ws.SetReadLimit(4096)
	_ = ws.SetReadDeadline(time.Now().Add(idle))
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(idle)) })
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer sub.Close()
		for {
			// Browsers send nothing but control frames; reading processes them and
			// notices the client leaving.
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
			_ = ws.SetReadDeadline(time.Now().Add(idle))
		}
	}()
	if err := s.hub.Serve(sub, ws); err != nil {
		s.log.Info("websocket client dropped", "topic", topic, "ip", conn.IP(), "err", err)
	}
	_ = ws.Close()
	<-readerDone
}

// watchCredentials closes ws (1008, "signed out") once the session or token it was
// opened with no longer stands: a logout anywhere, a revoked token, a disabled user. It
// returns the function that stops watching.
func (s *server) watchCredentials(ws *websocket.Conn, p *auth.Principal) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(s.auth.Recheck())
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			ok, err := s.auth.Stands(ctx, p)
			cancel()
			if err == nil && !ok {
				_ = ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "signed out"), time.Now().Add(time.Second))
				_ = ws.Close()
				return
			}
		}
	}()
	return func() { close(done) }
}

// socketCloseWait bounds how long shutting down waits for the sockets to close: the hub
// gives each close frame a second to be written.
const socketCloseWait = 2 * time.Second

// waitSockets waits until no WebSocket handler runs any more, or for at most d. On
// shutdown the hub has told every socket to close (live.Hub.Shutdown, before the HTTP
// server stops); the frames are written by the sockets' own goroutines, which fasthttp
// no longer tracks once they are hijacked.
func (s *server) waitSockets(d time.Duration) {
	deadline := time.Now().Add(d)
	for s.sockets.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}
