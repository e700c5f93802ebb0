package probe

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReady(t *testing.T) {
	ok := Check{Name: "store", Run: func(context.Context) error { return nil }}
	bad := Check{Name: "gitlab", Run: func(context.Context) error { return errors.New("token glpat-SECRET rejected") }}
	slow := Check{Name: "slow", Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	redact := func(s string) string { return strings.ReplaceAll(s, "glpat-SECRET", "[redacted]") }
	tests := []struct {
		name    string
		checks  []Check
		code    int
		reasons []string
	}{
		{"all ok", []Check{ok}, 200, nil},
		{"one fails", []Check{ok, bad}, 503, []string{"gitlab: token [redacted] rejected"}},
		{"timeout", []Check{slow}, 503, []string{"slow: context deadline exceeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Ready(10*time.Millisecond, redact, tt.checks...).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tt.code {
				t.Fatalf("code %d, want %d", rec.Code, tt.code)
			}
			var res Result
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if strings.Join(res.Reasons, "|") != strings.Join(tt.reasons, "|") {
				t.Fatalf("reasons %q, want %q", res.Reasons, tt.reasons)
			}
			if strings.Contains(rec.Body.String(), "SECRET") {
				t.Fatalf("secret served: %s", rec.Body)
			}
		})
	}
}

func TestCachedCallsOncePerTTL(t *testing.T) {
	calls := 0
	f := Cached(time.Hour, func(context.Context) error { calls++; return errors.New("down") })
	for range 5 {
		if err := f(context.Background()); err == nil {
			t.Fatal("cached error lost")
		}
	}
	if calls != 1 {
		t.Fatalf("%d calls, want 1", calls)
	}
	g := Cached(0, func(context.Context) error { calls++; return nil })
	_ = g(context.Background())
	_ = g(context.Background())
	if calls != 3 {
		t.Fatalf("ttl 0 must not cache: %d calls", calls)
	}
}

func TestReadyReportsReplica(t *testing.T) {
	ok := Check{Name: "store", Run: func(context.Context) error { return nil }}
	rep := func() *Replica {
		return &Replica{ID: "host-1-abc", Store: "postgres", Roles: map[string]string{"slack": "serving"}, Runs: 3}
	}
	rec := httptest.NewRecorder()
	ReadyReplica(time.Second, nil, rep, ok).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var res Result
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 200 || res.Replica == nil || res.Replica.ID != "host-1-abc" || res.Replica.Roles["slack"] != "serving" || res.Replica.Runs != 3 {
		t.Fatalf("code %d, body %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	Ready(time.Second, nil, ok).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if strings.Contains(rec.Body.String(), "replica") {
		t.Fatalf("a replica reported without one: %s", rec.Body)
	}
}
