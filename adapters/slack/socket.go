package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack/socketmode"
)

// The Socket Mode wire client. slack-go's socketmode.Client reconnects by
// itself on every disconnect frame, closing the old connection first; Slack
// asks clients to open the next connection before the old one closes (a
// "warning" comes about 10 seconds ahead), which needs two connections
// alive at once. So the adapter dials and reads the websocket itself and
// keeps slack-go for the Web API and the payload types.

const (
	// helloTimeout bounds the wait for Slack's hello on a new connection.
	helloTimeout = 30 * time.Second
	// writeTimeout bounds one frame write (an ack, a pong, a close).
	writeTimeout = 5 * time.Second
	// readLimit bounds one frame; Slack's envelopes stay far below it.
	readLimit = 4 << 20
)

// errBadFrame marks a frame that is not a Socket Mode request; the
// connection is fine and reading goes on.
var errBadFrame = errors.New("unreadable Socket Mode frame")

// socketConn is one Socket Mode websocket. Slack sends envelopes on it and
// takes their acks on the same connection.
type socketConn struct {
	serial int // numbers connections from 1, for logs
	ws     *websocket.Conn
	wmu    sync.Mutex   // gorilla allows one data-frame writer at a time
	last   atomic.Int64 // unix nanoseconds of the last frame or ping read
	opened time.Time
	// retiredAt is when a newer connection replaced this one (zero while
	// it is the current one). Only the supervisor uses it and dead.
	retiredAt time.Time
	// dead marks a connection the supervisor closed; its reader's report
	// of the end is still to come.
	dead bool
}

// dialSocket asks Slack for a connection URL (apps.connections.open with
// the app token), dials it and waits for the hello.
func (a *Adapter) dialSocket(ctx context.Context) (*socketConn, error) {
	_, url, err := a.api.StartSocketModeContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("apps.connections.open: %w", err)
	}
	dialer := websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 45 * time.Second,
		WriteBufferSize:  32 << 10, // above Slack's 20 KB frame limit, as slack-go does
		NetDialContext:   (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
	}
	ws, resp, err := dialer.DialContext(ctx, url, http.Header{"Origin": {"https://api.slack.com"}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dialling the Socket Mode websocket: %w", err)
	}
	c := &socketConn{ws: ws, opened: time.Now()}
	c.touch()
	ws.SetReadLimit(readLimit)
	ws.SetPingHandler(func(data string) error {
		c.touch()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil // as gorilla's own handler: a lost pong is not a dead connection
		}
		return err
	})
	stop := context.AfterFunc(ctx, func() { _ = ws.Close() })
	defer stop()
	_ = ws.SetReadDeadline(time.Now().Add(helloTimeout))
	hello, err := c.next()
	_ = ws.SetReadDeadline(time.Time{})
	switch {
	case err != nil:
		_ = ws.Close()
		return nil, fmt.Errorf("waiting for Slack's hello: %w", err)
	case hello.Type == socketmode.RequestTypeDisconnect && hello.Reason == "link_disabled":
		_ = ws.Close()
		return nil, errLinkDisabled
	case hello.Type != socketmode.RequestTypeHello:
		_ = ws.Close()
		return nil, fmt.Errorf("Slack sent %q before its hello", hello.Type)
	}
	return c, nil
}

// next reads the next frame. An error wrapping errBadFrame leaves the
// connection usable; any other error ends it.
func (c *socketConn) next() (socketmode.Request, error) {
	var req socketmode.Request
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return req, err
	}
	c.touch()
	if err := json.Unmarshal(data, &req); err != nil {
		return req, fmt.Errorf("%w: %w", errBadFrame, err)
	}
	return req, nil
}

// ack acknowledges an envelope; Slack redelivers what is not acked within
// about 3 seconds.
func (c *socketConn) ack(ctx context.Context, envelopeID string) error {
	frame, err := json.Marshal(struct {
		EnvelopeID string `json:"envelope_id"`
	}{envelopeID})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(deadline)
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

// close says goodbye with a close frame (best effort) and closes the
// connection; its reader then ends.
func (c *socketConn) close() {
	_ = c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = c.ws.Close()
}

func (c *socketConn) touch() { c.last.Store(time.Now().UnixNano()) }

// idle is how long the connection has delivered nothing, not even a ping.
func (c *socketConn) idle() time.Duration { return time.Since(time.Unix(0, c.last.Load())) }
