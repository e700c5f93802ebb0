package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type stateAdapter struct {
	chanAdapter
	name  string
	state ConnState
}

func (s *stateAdapter) Name() string     { return s.name }
func (s *stateAdapter) State() ConnState { return s.state }

func TestHealthHandler(t *testing.T) {
	slack := &stateAdapter{name: "slack", state: StateConnected}
	discord := &stateAdapter{name: "discord", state: StateConnected}
	b := New(HandlerFunc(func(context.Context, Responder, Message) {}), Options{}, slack, discord, newChanAdapter())
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		b.HealthHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	if code, body := get(); code != 200 || body != `{"ok":true,"adapters":[{"adapter":"discord","state":"connected"},{"adapter":"slack","state":"connected"}]}` {
		t.Fatalf("healthy: %d %s", code, body)
	}
	discord.state = StateDegraded
	if code, body := get(); code != 503 || !strings.Contains(body, `"discord","state":"degraded"`) {
		t.Fatalf("degraded: %d %s", code, body)
	}
}
