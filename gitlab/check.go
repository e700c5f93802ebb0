package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

// Report is what the start-up check learnt of GitLab.
type Report struct {
	// URL is the GitLab base URL checked.
	URL string
	// User is the token's user.
	User string
	// Project is the project's path and ProjectURL its web page.
	Project, ProjectURL string
	// DefaultBranch is the branch runs use.
	DefaultBranch string
	// ChatJobs counts the jobs that can run from chat.
	ChatJobs int
}

// CheckError is a failed check: Step says what was being checked and the
// message says what to do. Permanent is set when waiting cannot fix it (a
// rejected token, a host that does not exist, a missing project, an
// invalid CI configuration) as opposed to GitLab being down for a while.
type CheckError struct {
	Step      string
	Msg       string
	Permanent bool
	Err       error
}

func (e *CheckError) Error() string { return e.Step + ": " + e.Msg }

// Unwrap returns the underlying error.
func (e *CheckError) Unwrap() error { return e.Err }

// Whoami checks that GitLab answers and accepts the token (GET /user) and
// returns the token's username. It is cheap enough for readiness probes.
func (s *Service) Whoami(ctx context.Context) (string, error) {
	u, _, err := s.client.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return "", s.checkError("the token ([gitlab] token, GET /user)", err)
	}
	return u.Username, nil
}

// Check is the start-up check: the token works (GET /user) and, under
// act_as = "sudo", belongs to an administrator; the project
// is readable, and its default branch has a CI configuration that lints.
// Errors are *CheckError.
func (s *Service) Check(ctx context.Context) (Report, error) {
	r := Report{URL: s.cfg.URL, Project: s.cfg.Project}
	u, _, err := s.client.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return r, s.checkError("the token ([gitlab] token, GET /user)", err)
	}
	r.User = u.Username
	if s.cfg.ActAs == ActAsSudo && !u.IsAdmin {
		// GitLab honours Sudo only for an administrator's token; without
		// one every run of an unlinked user would fail with 403.
		return r, &CheckError{Step: `[gitlab] act_as = "sudo"`, Permanent: true,
			Msg: fmt.Sprintf(`the token's user %s is not a GitLab administrator, and only an administrator's token (scopes api and sudo) may use the Sudo header; use such a token, or act_as = "bot" or "user"`, u.Username)}
	}
	p, err := s.lookupProject(ctx)
	if err != nil {
		return r, s.checkError("the project ([gitlab] project "+s.cfg.Project+")", err)
	}
	r.ProjectURL, r.DefaultBranch = p.WebURL, p.DefaultBranch
	c, err := s.ciAt(ctx, p)
	if err != nil {
		return r, s.checkError("the CI configuration on "+p.DefaultBranch, err)
	}
	r.ChatJobs = len(c.runnable())
	return r, nil
}

// checkError says what an operator should do about a failed check; no
// token ever appears in it (client-go errors carry the URL, not headers).
func (s *Service) checkError(step string, err error) error {
	e := &CheckError{Step: step, Err: err, Permanent: true}
	var dns *net.DNSError
	var ref *bot.Refusal
	switch st := statusOf(err); {
	case errors.As(err, &dns) && dns.IsNotFound:
		e.Msg = fmt.Sprintf("the host of [gitlab] url %s does not exist (%v); check the URL", s.cfg.URL, dns)
	case st == http.StatusUnauthorized:
		e.Msg = fmt.Sprintf("GitLab at %s rejected the token (401): it is wrong, expired or revoked; create one with the api scope", s.cfg.URL)
	case st == http.StatusForbidden:
		e.Msg = fmt.Sprintf("GitLab refused (403): give the token's user at least the Developer role on %s and the api scope", s.cfg.Project)
	case st == http.StatusNotFound && strings.Contains(step, "token"):
		e.Msg = fmt.Sprintf("%s answered 404 for /api/v4/user: is [gitlab] url the GitLab base URL (without /api/v4)?", s.cfg.URL)
	case st == http.StatusNotFound:
		e.Msg = fmt.Sprintf("%s does not exist or the token's user cannot see it (404); check [gitlab] project and the user's membership", s.cfg.Project)
	case st == 0 && errors.As(err, &ref) && ref.Err == nil:
		// Not an API failure: the project has no default branch, or
		// its CI configuration does not lint.
		e.Msg = ref.Title + ": " + ref.Text
	case st == 0 || st >= 500 || st == http.StatusTooManyRequests:
		e.Permanent = false
		e.Msg = fmt.Sprintf("GitLab at %s did not answer well: %v", s.cfg.URL, err)
	default:
		e.Msg = fmt.Sprintf("GitLab answered %d: %s", st, messageOf(err))
	}
	return e
}
