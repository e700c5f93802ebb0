package gitlabtest

import (
	"net/http"
	"strings"
)

type fault struct {
	method, prefix string
	status         int
	retryAfter     string
	// afterWork: the request is carried out, then the connection is
	// reset before the answer, so the client cannot know it succeeded.
	afterWork bool
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
