package live

import (
	"fmt"
	"time"

	"github.com/fasthttp/websocket"
)

// Conn is the writing side of a WebSocket connection; *websocket.Conn of
// github.com/gofiber/contrib/websocket (and of fasthttp/websocket) satisfies it.
type Conn interface {
	SetWriteDeadline(t time.Time) error
	WriteMessage(messageType int, data []byte) error
	WriteControl(messageType int, data []byte, deadline time.Time) error
}

// Serve writes sub's messages to conn until the subscription ends or a write fails, and
// closes the subscription on return. Every write has a deadline of WriteTimeout, so a
// client that cannot keep up is dropped (Serve returns its error) and never holds up
// anyone else. When the hub shuts down, Serve sends the close frame (1012, "server
// shutting down") and returns nil. The caller reads from conn in another goroutine and
// closes sub when the client goes away.
func (h *Hub) Serve(sub *Subscription, conn Conn) error {
	defer sub.Close()
	ping := time.NewTicker(h.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case msg := <-sub.C():
			heard := sub.heard.Swap(0)
			if err := conn.SetWriteDeadline(h.cfg.Now().Add(h.cfg.WriteTimeout)); err != nil {
				return fmt.Errorf("setting write deadline: %w", err)
			}
			if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				return fmt.Errorf("writing to subscriber: %w", err)
			}
			if heard != 0 {
				h.cfg.Metrics.Pushed(h.cfg.Now().Sub(time.Unix(0, heard)))
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, h.cfg.Now().Add(h.cfg.WriteTimeout)); err != nil {
				return fmt.Errorf("pinging subscriber: %w", err)
			}
		case <-sub.Done():
			if code, reason := sub.CloseReason(); code != 0 {
				// Best effort: the client may be gone already.
				_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), h.cfg.Now().Add(time.Second))
			}
			return nil
		}
	}
}
