package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

// Commands is router middleware counting and timing every command by its
// canonical name (bounded: only registered commands reach middleware).
func (m *Metrics) Commands() commands.Middleware {
	return func(next commands.Handler) commands.Handler {
		return commands.HandlerFunc(func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			start := time.Now()
			err := next.ServeCommand(ctx, w, r)
			m.commands.WithLabelValues(r.Command, commands.Outcome(err)).Inc()
			m.commandSeconds.WithLabelValues(r.Command).Observe(seconds(time.Since(start)))
			return err
		})
	}
}

// Deduplicated implements bot.Observer.
func (m *Metrics) Deduplicated(adapter string) { m.deduplicated.WithLabelValues(adapter).Inc() }

// Refused implements bot.Observer.
func (m *Metrics) Refused(adapter, reason string) { m.refusals.WithLabelValues(adapter, reason).Inc() }

// AdapterState implements bot.Observer: it sets the connection gauge and
// counts transitions from connected to anything else.
func (m *Metrics) AdapterState(adapter string, s bot.ConnState) {
	up := s == bot.StateConnected
	m.mu.Lock()
	was, known := m.state[adapter]
	m.state[adapter] = up
	m.mu.Unlock()
	if !known {
		// Export the adapter's counters at 0 from the start, so a rate()
		// over them works before the first event.
		m.reconnects.WithLabelValues(adapter)
		m.deduplicated.WithLabelValues(adapter)
		m.refusals.WithLabelValues(adapter, bot.RefusedBusy)
		m.refusals.WithLabelValues(adapter, bot.RefusedShuttingDown)
	}
	if known && was && !up {
		m.reconnects.WithLabelValues(adapter).Inc()
	}
	v := 0.0
	if up {
		v = 1
	}
	m.connected.WithLabelValues(adapter).Set(v)
}

// RunFollowed implements run.Observer.
func (m *Metrics) RunFollowed(string) { m.runsInFlight.Inc() }

// RunLeft implements run.Observer.
func (m *Metrics) RunLeft(string) { m.runsInFlight.Dec() }

// RunAnswered implements run.Observer. A negative duration is unknown and
// not observed (a run answered after a restart does not know when its
// job finished).
func (m *Metrics) RunAnswered(job, outcome string, ran, sinceDone time.Duration) {
	if ran >= 0 {
		m.runSeconds.WithLabelValues(m.job(job), runOutcome(outcome)).Observe(seconds(ran))
	}
	if sinceDone >= 0 {
		m.answerLatency.Observe(seconds(sinceDone))
	}
}

// runOutcome bounds the outcome label to GitLab's final job statuses and
// the bot's own outcomes.
func runOutcome(s string) string {
	switch s {
	case "success", "failed", "canceled", "skipped", "timeout", "not_started":
		return s
	}
	return "other"
}

// Transport wraps base (http.DefaultTransport when nil) to count GitLab
// API requests by endpoint class and status; give it to the GitLab client
// through gitlab.Config.HTTPClient. Nothing of the request but its path's
// shape becomes a label: no token, no project name, no id.
func (m *Metrics) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := base.RoundTrip(r)
		ep := Endpoint(r.URL.EscapedPath())
		status := "error"
		if err == nil {
			status = strconv.Itoa(resp.StatusCode)
		}
		m.gitlabRequests.WithLabelValues(ep, status).Inc()
		m.gitlabSeconds.WithLabelValues(ep).Observe(seconds(time.Since(start)))
		return resp, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Endpoint classifies a GitLab API path (escaped, so a project path such
// as group%2Fproject is one segment) into a bounded set: user, users,
// project, branches, lint, pipelines, jobs, trace, members, other.
func Endpoint(escapedPath string) string {
	_, rest, ok := strings.Cut(escapedPath, "/api/v4/")
	if !ok {
		return "other"
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	switch seg[0] {
	case "user":
		return "user"
	case "users":
		return "users"
	case "projects":
	default:
		return "other"
	}
	if len(seg) <= 2 {
		return "project"
	}
	switch seg[2] {
	case "repository":
		return "branches"
	case "ci":
		return "lint"
	case "pipeline", "pipelines":
		return "pipelines"
	case "members":
		return "members"
	case "jobs":
		if seg[len(seg)-1] == "trace" {
			return "trace"
		}
		return "jobs"
	}
	return "other"
}
