package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chatops-dev/chatops/bot"
)

func TestEndpoint(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/api/v4/user", "user"},
		{"/api/v4/users", "users"},
		{"/api/v4/projects/group%2Fsub%2Fproject", "project"},
		{"/api/v4/projects/42", "project"},
		{"/api/v4/projects/42/repository/branches/main", "branches"},
		{"/api/v4/projects/42/ci/lint", "lint"},
		{"/api/v4/projects/42/pipeline", "pipelines"},
		{"/api/v4/projects/42/pipelines/7/jobs", "pipelines"},
		{"/api/v4/projects/42/jobs/9", "jobs"},
		{"/api/v4/projects/42/jobs/9/play", "jobs"},
		{"/api/v4/projects/42/jobs/9/trace", "trace"},
		{"/api/v4/projects/42/members/all/3", "members"},
		{"/api/v4/projects/42/wiki", "other"},
		{"/api/v4/version", "other"},
		{"/gitlab/api/v4/user", "user"}, // GitLab under a path prefix
		{"/demo/-/jobs/1", "other"},
	}
	for _, tt := range tests {
		if got := Endpoint(tt.path); got != tt.want {
			t.Errorf("Endpoint(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestAdapterStateCountsDisconnects(t *testing.T) {
	m := New(prometheus.NewRegistry())
	for _, s := range []bot.ConnState{bot.StateConnecting, bot.StateConnected, bot.StateConnected,
		bot.StateDegraded, bot.StateConnecting, bot.StateConnected, bot.StateDegraded} {
		m.AdapterState("slack", s)
	}
	if got := testutil.ToFloat64(m.reconnects.WithLabelValues("slack")); got != 2 {
		t.Errorf("disconnects = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.connected.WithLabelValues("slack")); got != 0 {
		t.Errorf("connected = %v, want 0", got)
	}
}

func TestJobLabelIsCapped(t *testing.T) {
	m := New(prometheus.NewRegistry())
	for i := range MaxJobs + 20 {
		m.RunAnswered(fmt.Sprintf("job-%d", i), "success", time.Second, -1)
	}
	m.RunAnswered("job-0", "weird", time.Second, time.Second) // a known name stays itself
	if n := testutil.CollectAndCount(m.runSeconds); n != MaxJobs+2 {
		t.Errorf("%d series, want %d (100 names, other, job-0/other)", n, MaxJobs+2)
	}
	if n := testutil.CollectAndCount(m.answerLatency); n != 1 {
		t.Errorf("answer latency: %d series, want 1", n)
	}
}

func TestTransportCountsByEndpointAndStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Private-Token") != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	m := New(prometheus.NewRegistry())
	c := &http.Client{Transport: m.Transport(nil)}
	for _, tok := range []string{"secret", "wrong"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v4/projects/7/jobs/1/trace", nil)
		req.Header.Set("Private-Token", tok)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for status, want := range map[string]float64{"200": 1, "401": 1} {
		if got := testutil.ToFloat64(m.gitlabRequests.WithLabelValues("trace", status)); got != want {
			t.Errorf("trace %s: %v, want %v", status, got, want)
		}
	}
}
