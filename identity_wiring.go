package main

import (
	"log/slog"

	"github.com/chatops-dev/chatops/bot/config"
	"github.com/chatops-dev/chatops/plugins/identity"
	"github.com/chatops-dev/chatops/store/seal"
)

// identityPlugin builds link, unlink and whoami when GitLab is configured
// (nil without [gitlab]). With [gitlab] oauth_client_id it seals tokens
// with [store] secret_key, which the configuration already checked.
// owner is this process's name in the store's leases, the run plugin's
// too, and pending links are leased for [store] lease like runs.
func identityPlugin(cfg *config.Config, p *parts, log *slog.Logger, owner string) (*identity.Plugin, error) {
	g := cfg.GitLab
	if g == nil {
		return nil, nil
	}
	opts := identity.Options{GitLabURL: g.URL, ClientID: g.OAuthClientID, Store: p.store,
		Identities: cfg.Identities, ActAs: g.ActAsMode(), Logger: log.With("component", "identity"),
		Owner: owner, Lease: cfg.Store.Lease.Duration}
	if g.OAuthClientID != "" {
		key, err := seal.ParseKey(cfg.Store.SecretKey)
		if err != nil {
			return nil, err
		}
		if opts.Sealer, err = seal.New(key); err != nil {
			return nil, err
		}
	}
	return identity.New(opts)
}
