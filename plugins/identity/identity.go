// Package identity is self-service linking of chat users to GitLab
// accounts: `link` runs GitLab's OAuth 2.0 Device Authorization Grant
// (RFC 8628) in a direct message (opened by the bot when asked in a
// channel), waits for the approval in the plugin's bot.Service rather
// than in a worker, with the flow stored (store.PendingLink) so that the
// next process, or another replica, finishes it after a stop, and records
// the link with the user's tokens sealed (store/seal); `whoami` shows who
// a chat user is in
// GitLab; `unlink` revokes the tokens and forgets the link. Its
// Middleware puts the caller's linked credential into every command's
// context (gitlab.WithActor), so pipelines, plays and cancels are made as
// that user; Actor resolves it for work done without a message.
package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/seal"
)

// Options configure the plugin.
type Options struct {
	// GitLabURL is the GitLab base URL.
	GitLabURL string
	// ClientID is the GitLab OAuth application's id; empty turns linking
	// off (`link` says so; `whoami` still shows [identities]).
	ClientID string
	// Store keeps the links; Sealer seals their tokens. Both are required
	// when ClientID is set.
	Store  store.Store
	Sealer *seal.Sealer
	// Identities is the static [identities] table, shown by whoami.
	Identities map[string]string
	// ActAs is [gitlab] act_as, shown by whoami.
	ActAs string
	// HTTPClient makes the OAuth and /user requests (default
	// http.DefaultClient).
	HTTPClient *http.Client
	// RefreshBefore is how long before its expiry an access token is
	// refreshed (default 5m), so a pipeline is never created with a
	// token that lapses on the way.
	RefreshBefore time.Duration
	// Logger receives the plugin's logs (default slog.Default()). Tokens
	// are never logged.
	Logger *slog.Logger
	// Owner names this process in the store's leases of pending links
	// (default store.NewOwner()); main passes the run plugin's, so a
	// replica has one name.
	Owner string
	// Lease is how long a pending link's lease lasts without renewal
	// (default 10s, renewed every third of it): a process that dies has
	// its pending links polled by another within about Lease and a third.
	Lease time.Duration
	// MaxPending bounds the pending links this process polls at once
	// (default 1000); `link` is refused beyond it.
	MaxPending int
}

// Plugin provides link, unlink and whoami, and the actor middleware. It
// is a bot.Service too: added to a router (commands.Router.Add), the bot
// runs the waits of pending links beside the adapters (pending.go).
type Plugin struct {
	opts  Options
	oauth *oauth2.Config // nil when linking is off

	mu sync.Mutex
	// refreshing serializes refreshes per identity: GitLab rotates
	// refresh tokens, so two at once would make one of them fail.
	refreshing map[string]*sync.Mutex

	// waits runs the device flows waiting for approval (pending.go); one
	// per identity is enforced by the store, across replicas.
	waits waits
}

// New returns the plugin.
func New(opts Options) (*Plugin, error) {
	if opts.RefreshBefore <= 0 {
		opts.RefreshBefore = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Owner == "" {
		opts.Owner = store.NewOwner()
	}
	if opts.Lease <= 0 {
		opts.Lease = 10 * time.Second
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 1000
	}
	p := &Plugin{opts: opts, refreshing: map[string]*sync.Mutex{}}
	if opts.ClientID == "" {
		return p, nil
	}
	if opts.Store == nil || opts.Sealer == nil || opts.GitLabURL == "" {
		return nil, errors.New("identity: linking needs the GitLab URL, a store and a sealer")
	}
	base := strings.TrimRight(opts.GitLabURL, "/")
	p.oauth = &oauth2.Config{
		ClientID: opts.ClientID,
		Scopes:   []string{"api"},
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: base + "/oauth/authorize_device",
			TokenURL:      base + "/oauth/token",
			// A non-confidential application: the client id goes in the
			// form, there is no secret.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	return p, nil
}

// Commands implements commands.Plugin.
func (p *Plugin) Commands() []commands.Command {
	return []commands.Command{
		{
			Name:    "link",
			Summary: "Link your chat account to your GitLab account",
			Help: "The bot sends you a GitLab link to approve, in a direct message (asked in a channel, it opens one with you); " +
				"once you approve, pipelines you start from chat are created as your GitLab user, with your rights. " +
				"Your token is stored encrypted; `unlink` revokes it.",
			Examples: []string{"link"},
			Handler:  commands.HandlerFunc(p.link),
		},
		{
			Name:     "unlink",
			Summary:  "Revoke the bot's access to your GitLab account",
			Examples: []string{"unlink"},
			Handler:  commands.HandlerFunc(p.unlink),
		},
		{
			Name:     "whoami",
			Summary:  "Show which GitLab user you act as from chat",
			Examples: []string{"whoami"},
			Handler:  commands.HandlerFunc(p.whoami),
		},
	}
}

// oauthContext makes x/oauth2 use the configured HTTP client.
func (p *Plugin) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, p.opts.HTTPClient)
}

// refreshLock returns the mutex serializing identity's refreshes.
func (p *Plugin) refreshLock(identity string) *sync.Mutex {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.refreshing[identity]
	if !ok {
		m = &sync.Mutex{}
		p.refreshing[identity] = m
	}
	return m
}

// errLinkBroken: GitLab refused the stored refresh token (revoked in
// GitLab, or expired); the link was deleted.
var errLinkBroken = errors.New("identity: the GitLab link no longer works")

// describe names what an OAuth error means, without echoing a token.
func describe(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return fmt.Sprintf("GitLab answered %s", re.ErrorCode)
		}
		return fmt.Sprintf("GitLab answered HTTP %d", re.Response.StatusCode)
	}
	return err.Error()
}
