// Package probe serves Kubernetes-style liveness and readiness endpoints:
// /healthz says the process is alive, /readyz runs named checks (adapters
// connected, store reachable, GitLab accepting the token) and answers 503
// with the reasons as JSON while one fails. Checks that cost a request
// are wrapped in Cached so frequent probes stay cheap.
package probe

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Check is one readiness condition.
type Check struct {
	// Name identifies the check in the JSON ("store", "adapter slack").
	Name string
	// Run returns nil when the condition holds, else why not.
	Run func(ctx context.Context) error
}

// Live answers 200 while the process can serve HTTP at all.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "alive"})
	})
}

// Result is the JSON /readyz answers.
type Result struct {
	Ready bool `json:"ready"`
	// Checks maps each check's name to "ok" or its reason.
	Checks map[string]string `json:"checks"`
	// Reasons lists the failed checks' reasons, sorted, for humans.
	Reasons []string `json:"reasons,omitempty"`
	// Replica, when reported, says what this process does among the
	// replicas sharing its store.
	Replica *Replica `json:"replica,omitempty"`
}

// Replica describes one process among those sharing a store.
type Replica struct {
	// ID names the process in the store's run leases (the owner column).
	ID string `json:"id,omitempty"`
	// Store is "postgres" (replicas share it) or "sqlite" (one process).
	Store string `json:"store"`
	// Roles maps each chat platform to the process's role on it:
	// "serving" while connected (every replica serves, event claims decide
	// who handles what), else why not.
	Roles map[string]string `json:"roles"`
	// Runs counts the open runs the process follows (holds leases on).
	Runs int `json:"runs"`
}

// Ready runs every check concurrently, each bounded by timeout, and
// answers 200 when all hold and 503 otherwise. redact, when set, is
// applied to every reason before it is served (so no secret an error may
// carry leaves the process).
func Ready(timeout time.Duration, redact func(string) string, checks ...Check) http.Handler {
	return ReadyReplica(timeout, redact, nil, checks...)
}

// ReadyReplica is Ready with replica, when set, reported in every answer.
func ReadyReplica(timeout time.Duration, redact func(string) string, replica func() *Replica, checks ...Check) http.Handler {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := Run(r.Context(), timeout, checks...)
		if replica != nil {
			res.Replica = replica()
		}
		for i, reason := range res.Reasons {
			res.Reasons[i] = redact(reason)
		}
		for k, v := range res.Checks {
			res.Checks[k] = redact(v)
		}
		code := http.StatusOK
		if !res.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, res)
	})
}

// Run runs the checks concurrently, each bounded by timeout.
func Run(ctx context.Context, timeout time.Duration, checks ...Check) Result {
	res := Result{Ready: true, Checks: make(map[string]string, len(checks))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			err := c.Run(cctx)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				res.Checks[c.Name] = "ok"
				return
			}
			res.Ready = false
			res.Checks[c.Name] = err.Error()
			res.Reasons = append(res.Reasons, c.Name+": "+err.Error())
		})
	}
	wg.Wait()
	sort.Strings(res.Reasons)
	return res
}

// Cached returns f with its result (success or failure) remembered for
// ttl, so a probe every few seconds costs one call per ttl. Concurrent
// callers during a refresh share one call.
func Cached(ttl time.Duration, f func(ctx context.Context) error) func(ctx context.Context) error {
	var mu sync.Mutex
	var last error
	var at time.Time
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if !at.IsZero() && time.Since(at) < ttl {
			return last
		}
		last = f(ctx)
		if ctx.Err() != nil && last != nil {
			// A probe that gave up early says nothing about the target:
			// do not remember it.
			return last
		}
		at = time.Now()
		return last
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
