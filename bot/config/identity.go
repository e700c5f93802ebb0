package config

import (
	"fmt"
	"strings"

	"github.com/chatops-dev/chatops/store/seal"
)

// Act-as modes of [gitlab] act_as: who GitLab sees acting for a chat
// user who has not linked a GitLab account.
const (
	ActAsBot  = "bot"
	ActAsUser = "user"
	ActAsSudo = "sudo"
)

// ActAsMode is [gitlab] act_as in lower case, ActAsBot when unset.
func (g *GitLab) ActAsMode() string {
	if g == nil || g.ActAs == "" {
		return ActAsBot
	}
	return strings.ToLower(g.ActAs)
}

// validateLinking checks the keys of self-service linking: a known
// act_as, and a usable [store] secret_key whenever linking is on, so the
// bot refuses to start rather than store GitLab tokens it cannot seal.
func (c *Config) validateLinking(at func(key ...string) int) Problems {
	if c.GitLab == nil {
		return nil
	}
	var ps Problems
	mode := c.GitLab.ActAsMode()
	switch mode {
	case ActAsBot, ActAsSudo:
	case ActAsUser:
		if c.GitLab.OAuthClientID == "" {
			ps = append(ps, Problem{Line: at("gitlab", "act_as"), Key: []string{"gitlab", "act_as"},
				What: `"user" needs self-service linking, which is off`, Fix: `set oauth_client_id = "<application id>", or act_as = "bot"`})
		}
	default:
		ps = append(ps, Problem{Line: at("gitlab", "act_as"), Key: []string{"gitlab", "act_as"},
			What: fmt.Sprintf("%q is not a mode chatops knows", c.GitLab.ActAs), Fix: `act_as = "bot" (or "user", "sudo")`})
	}
	if c.GitLab.OAuthClientID == "" {
		return ps
	}
	line := at("store", "secret_key")
	if line == 0 {
		line = at("gitlab", "oauth_client_id")
	}
	if strings.TrimSpace(c.Store.SecretKey) == "" {
		ps = append(ps, Problem{Line: line, Key: []string{"store", "secret_key"},
			What: "is required when [gitlab] oauth_client_id is set: linked users' GitLab tokens are stored encrypted with it",
			Fix:  `secret_key = "${CHATOPS_SECRET_KEY}" with CHATOPS_SECRET_KEY from: openssl rand -base64 32`})
	} else if _, err := seal.ParseKey(c.Store.SecretKey); err != nil {
		// The key itself is never quoted: it is a secret.
		ps = append(ps, Problem{Line: line, Key: []string{"store", "secret_key"},
			What: "is not a usable key: " + strings.TrimPrefix(err.Error(), "seal: "),
			Fix:  "32 random bytes as base64: openssl rand -base64 32"})
	}
	return ps
}
