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
func identityPlugin(cfg *config.Config, p *parts, log *slog.Logger) (*identity.Plugin, error) {
	g := cfg.GitLab
	if g == nil {
		return nil, nil
	}
	opts := identity.Options{GitLabURL: g.URL, ClientID: g.OAuthClientID, Store: p.store,
		Identities: cfg.Identities, ActAs: g.ActAsMode(), Logger: log.With("component", "identity")}
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
