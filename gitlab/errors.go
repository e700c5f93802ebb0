package gitlab

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

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
		return &bot.Refusal{Title: "GitLab is unreachable",
			Text: fmt.Sprintf("The bot could not %s at %s. Try again in a few minutes; if it lasts, tell the bot's operators.", doing, s.cfg.URL), Err: err}
	case http.StatusUnauthorized:
		return &bot.Refusal{Title: "GitLab rejected the bot's token",
			Text: "The token in [gitlab] token is invalid, expired or revoked (401). An operator must renew it (scope api).", Err: err}
	case http.StatusForbidden:
		return &bot.Refusal{Title: "The bot's GitLab token may not do that",
			Text: fmt.Sprintf("GitLab refused to %s (403). Give the token's user at least the Developer role on %s and the api scope.", doing, s.cfg.Project), Err: err}
	case http.StatusNotFound:
		return &bot.Refusal{Title: "GitLab project not found",
			Text: fmt.Sprintf("Could not %s: %s does not exist or the bot's token cannot see it (404). Check [gitlab] project and the token's membership.", doing, s.cfg.Project), Err: err}
	case http.StatusTooManyRequests:
		return &bot.Refusal{Title: "GitLab is rate limiting the bot", Text: "Try again in a minute.", Err: err}
	default:
		if st := statusOf(err); st >= 500 {
			return &bot.Refusal{Title: "GitLab is having trouble",
				Text: fmt.Sprintf("GitLab answered %d when the bot tried to %s, even after retries. Try again in a few minutes.", st, doing), Err: err}
		}
		return &bot.Refusal{Title: "GitLab refused the request", Text: fmt.Sprintf("Could not %s: %s", doing, messageOf(err)), Err: err}
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
