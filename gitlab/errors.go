package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
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
			Text: fmt.Sprintf("The bot could not %s at %s. Try again in a few minutes; if it lasts, tell the bot's operators.", doing, s.host()), Err: err}
	case http.StatusUnauthorized:
		return &bot.Refusal{Title: "GitLab rejected the bot's token",
			Text: "The token in [gitlab] token is invalid, expired or revoked (401). An operator must renew it (scope api).", Err: err}
	case http.StatusForbidden:
		if strings.Contains(messageOf(err), "Must be admin to use sudo") {
			return &bot.Refusal{Title: "The bot may not act as other GitLab users",
				Text: `The bot is configured with act_as = "sudo", but its token is not an administrator's (GitLab refused the Sudo header with 403). An operator must use an admin token with the sudo scope, or act_as = "bot" or "user".`, Err: err}
		}
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

// messageOf returns GitLab's message from an error response, or Describe.
func messageOf(err error) string {
	var er *gl.ErrorResponse
	if errors.As(err, &er) && strings.TrimSpace(er.Message) != "" {
		return strings.TrimSpace(er.Message)
	}
	return Describe(err)
}

// Describe says what went wrong with a GitLab call in words fit for chat:
// the status and GitLab's own message, or why there was no answer. It
// never includes a URL: API paths and any credentials in the configured
// URL stay in the logs.
func Describe(err error) string {
	var er *gl.ErrorResponse
	switch {
	case err == nil:
		return ""
	case errors.Is(err, gl.ErrNotFound):
		return "404 not found"
	case errors.As(err, &er) && er.Response != nil:
		msg := strings.TrimSpace(er.Message)
		if msg == "" {
			return er.Response.Status
		}
		return fmt.Sprintf("%d: %s", er.Response.StatusCode, msg)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "no answer in time"
	}
	var he *headerTimeoutError
	if errors.As(err, &he) {
		return "no answer within " + he.after.String()
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "the connection failed"
	}
	return "the request failed"
}

// host names the GitLab instance for chat: its host only, never the
// configured URL, which may carry credentials.
func (s *Service) host() string {
	if u, err := url.Parse(s.cfg.URL); err == nil && u.Host != "" {
		return u.Host
	}
	return "GitLab"
}
