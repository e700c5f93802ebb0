package gitlabtest

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/chatops-dev/chatops/gitlab/joblog"
)

// BotUser is the username GET /user answers for the fake's token.
const BotUser = "chatops-bot"

// currentUser is GET /user: the token's own user.
func (s *Server) currentUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := s.requesterLocked(r)
	admin := s.admin
	s.mu.Unlock()
	if u.Username != BotUser {
		writeJSON(w, 200, u)
		return
	}
	writeJSON(w, 200, map[string]any{"id": 1, "username": BotUser, "name": "chatops bot", "state": "active", "bot": true,
		"web_url": s.srv.URL + "/" + BotUser, "is_admin": admin})
}

// requesterLocked is who GitLab acts as for r: the OAuth token's user,
// else the Sudo header's user (only honoured for an admin token, checked
// before any handler), else the bot's own user. s.mu must be held.
func (s *Server) requesterLocked(r *http.Request) *user {
	if u, ok := s.oauthUserLocked(credential(r)); ok {
		return u
	}
	if u, ok := s.users[r.Header.Get("Sudo")]; ok {
		return u
	}
	return s.botUserLocked()
}

// web serves the pages the API's web_url fields point at, without a
// token, so the links the demo prints open something: a job's page is its
// log as plain text, a pipeline's page lists its jobs.
func (s *Server) web() http.Handler {
	mux := http.NewServeMux()
	prefix := "/" + s.ProjectPath + "/-/"
	mux.HandleFunc("GET "+prefix+"jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		s.mu.Lock()
		j, ok := s.jobs[id]
		var text, status, name string
		if ok {
			text, status, name = j.trace.String(), j.Status, j.Name
		}
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Job #%d %s: %s (simulated GitLab)\n\n", id, name, status)
		_, _ = io.WriteString(w, joblog.Clean(text))
	})
	mux.HandleFunc("GET "+prefix+"pipelines/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		s.mu.Lock()
		p, ok := s.pipelines[id]
		var lines []string
		if ok {
			for _, j := range s.jobs {
				if j.Pipeline == p {
					lines = append(lines, fmt.Sprintf("%s: %s  %s/-/jobs/%d", j.Name, j.Status, s.webURL(p.project), j.ID))
				}
			}
		}
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Pipeline #%d (simulated GitLab)\n\n%s\n", id, strings.Join(lines, "\n"))
	})
	return mux
}
