package live

import (
	"encoding/binary"
	"fmt"
	"time"
)

// WebSocket message types (RFC 6455), as gorilla-style connections number them.
const (
	textMessage  = 1
	closeMessage = 8
	pingMessage  = 9
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
			if err := conn.SetWriteDeadline(h.cfg.Now().Add(h.cfg.WriteTimeout)); err != nil {
				return fmt.Errorf("setting write deadline: %w", err)
			}
			if err := conn.WriteMessage(textMessage, msg); err != nil {
				return fmt.Errorf("writing to subscriber: %w", err)
			}
		case <-ping.C:
			if err := conn.WriteControl(pingMessage, nil, h.cfg.Now().Add(h.cfg.WriteTimeout)); err != nil {
				return fmt.Errorf("pinging subscriber: %w", err)
			}
		case <-sub.Done():
			if code, reason := sub.CloseReason(); code != 0 {
				// Best effort: the client may be gone already.
				_ = conn.WriteControl(closeMessage, CloseFrame(code, reason), h.cfg.Now().Add(time.Second))
			}
			return nil
		}
	}
}

// CloseFrame is the payload of a close frame: the code, then the reason.
func CloseFrame(code int, reason string) []byte {
	b := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(b, uint16(code))
	copy(b[2:], reason)
	return b
}
