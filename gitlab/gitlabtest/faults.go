package gitlabtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

type fault struct {
	method, prefix string
	status         int
	retryAfter     string
	// afterWork: the request is carried out, then the connection is
	// reset before the answer, so the client cannot know it succeeded.
	afterWork bool
	// hold: the request is carried out, then its answer is held back
	// until the hold is released (or the client goes away).
	hold *Hold
	// hang: the request is accepted and never answered.
	hang bool
}

// Hang makes the next n matching requests hang: the connection is
// accepted and no answer ever comes, as from a GitLab whose workers are
// all stuck.
func (s *Server) Hang(method, prefix string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{method: method, prefix: prefix, hang: true})
	}
}

// Fail makes the next n requests with method and a path starting with
// prefix (e.g. "/projects/42/jobs/") fail with status; a 429 carries
// Retry-After when retryAfter is set.
func (s *Server) Fail(method, prefix string, n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{method: method, prefix: prefix, status: status, retryAfter: retryAfter})
	}
}

// ResetAfterWork makes the next n matching requests take effect and then
// lose their answer to a connection reset: the ambiguous failure after
// which a pipeline creation must not simply be retried.
func (s *Server) ResetAfterWork(method, prefix string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{method: method, prefix: prefix, afterWork: true})
	}
}

func (s *Server) takeFault(r *http.Request, path string) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.method == r.Method && strings.HasPrefix(path, f.prefix) {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return f, true
		}
	}
	return fault{}, false
}

// resetWriter wraps the response so that, for an afterWork fault, the
// handler's answer is dropped and the connection closed.
type resetWriter struct {
	http.ResponseWriter
}

func (w resetWriter) WriteHeader(int)             {}
func (w resetWriter) Write(b []byte) (int, error) { return len(b), nil }

func reset(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	http.Error(w, "connection reset", http.StatusBadGateway)
}

// Hold is a set of requests the fake carried out but whose answers it
// holds back: the state a client is in when it dies (or is killed) after
// GitLab acted and before it learnt so. See HoldAfterWork.
type Hold struct {
	s        *Server
	released chan struct{}
	once     sync.Once

	mu      sync.Mutex
	held    int
	changed chan struct{}
}

// HoldAfterWork makes the next n requests with method and a path starting
// with prefix take effect at once, and then keeps each answer until the
// returned Hold is released. A held request whose client disconnects (a
// killed process) is dropped without an answer.
func (s *Server) HoldAfterWork(method, prefix string, n int) *Hold {
	h := &Hold{s: s, released: make(chan struct{}), changed: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{method: method, prefix: prefix, hold: h})
	}
	s.holds = append(s.holds, h)
	return h
}

// Held is how many requests have taken effect and are (or were) held.
func (h *Hold) Held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held
}

// Wait waits until n requests have taken effect and are held.
func (h *Hold) Wait(ctx context.Context, n int) error {
	for {
		h.mu.Lock()
		held, ch := h.held, h.changed
		h.mu.Unlock()
		if held >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("gitlabtest: %d of %d requests held: %w", held, n, ctx.Err())
		}
	}
}

// Release sends the held answers to the clients still waiting for them;
// the hold's unused requests are no longer held.
func (h *Hold) Release() {
	h.once.Do(func() { close(h.released) })
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	kept := h.s.faults[:0]
	for _, f := range h.s.faults {
		if f.hold != h {
			kept = append(kept, f)
		}
	}
	h.s.faults = kept
}

// serve carries out the request, then holds its answer.
func (h *Hold) serve(api http.Handler, w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, r)
	h.mu.Lock()
	h.held++
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	select {
	case <-h.released:
	case <-r.Context().Done():
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
