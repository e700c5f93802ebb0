package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot/bottest"
)

// TestListenerCutsSlowClients: a client that sends its headers or its
// body slowly (a slowloris, or a broken proxy) is disconnected after the
// listener's bounds, while a prompt request on the same listener is
// served meanwhile. Without the bounds each connection would be held for
// as long as the client likes.
func TestListenerCutsSlowClients(t *testing.T) {
	saved := listenerTimeouts
	listenerTimeouts = httpTimeouts{header: 300 * time.Millisecond, read: 600 * time.Millisecond, write: time.Second, idle: time.Second}
	t.Cleanup(func() { listenerTimeouts = saved })

	bodyErr := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		bodyErr <- err
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	addr, stop, err := serveHTTP("127.0.0.1:0", mux, []string{"/hook"}, bottest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	for _, tt := range []struct {
		name, sent string
	}{
		{"headers never finished", "GET /healthz HTTP/1.1\r\nHost: chatops\r\n"},
		{"body never finished", "POST /hook HTTP/1.1\r\nHost: chatops\r\nContent-Length: 1000\r\n\r\n{\"object_kind\":"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tt.sent); err != nil {
				t.Fatal(err)
			}
			// Meanwhile the listener serves others.
			resp, err := http.Get("http://" + addr + "/healthz")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("a prompt request beside the slow one: %v %v", resp, err)
			}
			resp.Body.Close()
			// The slow connection is closed by the server (whatever it
			// says first), long before the client's own 10 s give up.
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = io.Copy(io.Discard, bufio.NewReader(conn))
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the server held the slow connection for 10 s")
			}
		})
	}
	select {
	case err := <-bodyErr:
		if err == nil {
			t.Fatal("the handler read a whole body the client never finished")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's read of the slow body never ended")
	}
}
