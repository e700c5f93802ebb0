package gitlabtest

// The fake's job routes: a job read, its trace, play and cancel.

import (
	"io"
	"net/http"
	"strconv"
)

func (s *Server) lookupJob(w http.ResponseWriter, r *http.Request) *job {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	j, ok := s.jobs[id]
	if !ok || j.Pipeline.project != projectOf(r) {
		apiError(w, 404, "404 Job Not Found")
		return nil
	}
	return j
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.lookupJob(w, r); j != nil {
		writeJSON(w, 200, s.jobJSON(j))
	}
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j := s.lookupJob(w, r)
	if j == nil {
		s.mu.Unlock()
		return
	}
	src, text := j.source, j.trace.String()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	if src != nil {
		_, _ = io.Copy(w, src())
		return
	}
	_, _ = io.WriteString(w, text)
}

func (s *Server) playJob(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookupJob(w, r)
	if j == nil {
		return
	}
	if j.Status != "manual" {
		apiError(w, 400, "400 Bad request - Unplayable Job")
		return
	}
	s.setStatus(j, "pending")
	go s.runJob(j)
	writeJSON(w, 200, s.jobJSON(j))
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.lookupJob(w, r); j != nil {
		s.cancelLocked(j)
		writeJSON(w, 200, s.jobJSON(j))
	}
}
