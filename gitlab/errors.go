package gitlab

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

// Refusal is a run that could not start, with what the user should know
// and do. It is an error so callers can tell it from a failure of the bot.
type Refusal struct {
	Title string
	Text  string
	Err   error // the cause, for logs
}

func (r *Refusal) Error() string {
	if r.Err != nil {
		return r.Title + ": " + r.Err.Error()
	}
	return r.Title
}

// Unwrap returns the cause.
func (r *Refusal) Unwrap() error { return r.Err }

// Reply renders the refusal.
func (r *Refusal) Reply() bot.Reply {
	return bot.Reply{Status: bot.StatusError, Title: r.Title, Text: r.Text}
}

// statusOf returns the HTTP status of a client-go error, 0 when GitLab
// never answered.
func statusOf(err error) int {
	// client-go answers 404 with a bare sentinel, without the response.
	if errors.Is(err, gl.ErrNotFound) {
		return http.StatusNotFound
	}
	var er *gl.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// apiRefusal turns a failed API call into a refusal that says what to do.
func (s *Service) apiRefusal(doing string, err error) error {
	switch statusOf(err) {
	case 0:
		return &Refusal{Title: "GitLab is unreachable",
			Text: fmt.Sprintf("The bot could not %s at %s. Try again in a few minutes; if it lasts, tell the bot's operators.", doing, s.cfg.URL), Err: err}
	case http.StatusUnauthorized:
		return &Refusal{Title: "GitLab rejected the bot's token",
			Text: "The token in [gitlab] token is invalid, expired or revoked (401). An operator must renew it (scope api).", Err: err}
	case http.StatusForbidden:
		return &Refusal{Title: "The bot's GitLab token may not do that",
			Text: fmt.Sprintf("GitLab refused to %s (403). Give the token's user at least the Developer role on %s and the api scope.", doing, s.cfg.Project), Err: err}
	case http.StatusNotFound:
		return &Refusal{Title: "GitLab project not found",
			Text: fmt.Sprintf("Could not %s: %s does not exist or the bot's token cannot see it (404). Check [gitlab] project and the token's membership.", doing, s.cfg.Project), Err: err}
	case http.StatusTooManyRequests:
		return &Refusal{Title: "GitLab is rate limiting the bot", Text: "Try again in a minute.", Err: err}
	default:
		if st := statusOf(err); st >= 500 {
			return &Refusal{Title: "GitLab is having trouble",
				Text: fmt.Sprintf("GitLab answered %d when the bot tried to %s, even after retries. Try again in a few minutes.", st, doing), Err: err}
		}
		return &Refusal{Title: "GitLab refused the request", Text: fmt.Sprintf("Could not %s: %s", doing, messageOf(err)), Err: err}
	}
}

// messageOf returns GitLab's message from an error response.
func messageOf(err error) string {
	var er *gl.ErrorResponse
	if errors.As(err, &er) {
		return strings.TrimSpace(er.Message)
	}
	return err.Error()
}
