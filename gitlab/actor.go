package gitlab

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

// Act-as modes (Config.ActAs): who GitLab sees acting for a chat user who
// has not linked a GitLab account.
const (
	// ActAsBot: the [identities] mapping and the role check, side effects
	// made by the bot's own user (the default, GitLab ChatOps' behaviour
	// before linking).
	ActAsBot = "bot"
	// ActAsUser: refuse, and point to `link`.
	ActAsUser = "user"
	// ActAsSudo: the bot's admin token with the Sudo header naming the
	// mapped user (self-managed GitLab), so GitLab records and checks
	// that user.
	ActAsSudo = "sudo"
)

// Actor is the credential a side effect (creating a pipeline, playing or
// canceling a job) is made with: a linked user's OAuth token, so GitLab
// records the pipeline as that user and enforces that user's rights. The
// zero Actor means no linked token: Config.ActAs decides. Reads keep
// using the bot's token.
type Actor struct {
	// Token is the linked user's OAuth access token.
	Token string
	// UserID and Username name the linked GitLab user.
	UserID   int64
	Username string
	// Identity is the chat identity acting ("platform:userID"), so an
	// unlinked user's [identities] mapping can be used for the Sudo header.
	Identity string
}

// Linked reports whether the actor carries a user's token.
func (a Actor) Linked() bool { return a.Token != "" }

// String names the actor without its token, so printing one cannot leak
// the credential.
func (a Actor) String() string {
	if !a.Linked() {
		return "(not linked)"
	}
	return "@" + a.Username
}

// GoString is String, for %#v.
func (a Actor) GoString() string { return a.String() }

// LogValue logs the actor without its token.
func (a Actor) LogValue() slog.Value { return slog.StringValue(a.String()) }

type actorKey struct{}

// WithActor returns ctx carrying a: Play and Cancel (whose signatures
// predate linking) act as the actor in their context.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// actorFrom is the actor WithActor put in ctx, the zero Actor if none.
func actorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// as returns the request options that make a side effect as a, or, for
// an unlinked user (a.Username from [identities]) under act_as = "sudo",
// as that user through the Sudo header. Otherwise the bot's token acts.
func (s *Service) as(a Actor) []gl.RequestOptionFunc {
	switch {
	case a.Linked():
		return []gl.RequestOptionFunc{gl.WithToken(gl.OAuthToken, a.Token)}
	case s.cfg.ActAs == ActAsSudo:
		if u := s.sudoUser(a); u != "" {
			return []gl.RequestOptionFunc{gl.WithSudo(u)}
		}
	}
	return nil
}

// sudoUser is the user an unlinked actor is under act_as = "sudo": the
// plan's user, else the [identities] mapping of its chat identity.
func (s *Service) sudoUser(a Actor) string {
	if a.Username != "" {
		return a.Username
	}
	return s.cfg.Identities[a.Identity]
}

// linkFirst is the refusal for an unlinked user under act_as = "user".
func (s *Service) linkFirst() *bot.Refusal {
	return &bot.Refusal{Title: "Link your GitLab account first",
		Text: "Pipelines run as your own GitLab user here. Send `link` to the bot in a direct message, approve the request in GitLab, then try again."}
}

// userTokenOnly drops the bot's Private-Token from a request that carries
// a user's bearer token: client-go adds its own token to every request,
// and a request with two credentials must not let GitLab pick the bot's.
func userTokenOnly(req *http.Request) *http.Request {
	if !strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") || req.Header.Get("Private-Token") == "" {
		return req
	}
	req = req.Clone(req.Context())
	req.Header.Del("Private-Token")
	return req
}

// actingAs names, for logs, who GitLab records a side effect as.
func (s *Service) actingAs(a Actor) string {
	switch {
	case a.Linked():
		return "linked user " + a.Username
	case s.cfg.ActAs == ActAsSudo && s.sudoUser(a) != "":
		return "sudo " + s.sudoUser(a)
	}
	return "bot"
}

// username is the GitLab user a chat identity acts as: the linked user of
// the Actor in ctx (WithActor), else the [identities] mapping.
func (s *Service) username(ctx context.Context, identity string) (string, bool) {
	if a := actorFrom(ctx); a.Linked() {
		return a.Username, true
	}
	u, ok := s.cfg.Identities[identity]
	return u, ok
}
