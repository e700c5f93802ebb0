package identity_test

import (
	"testing"

	"github.com/chatops-dev/chatops/gitlab"
)

// TestReviewRelinkRevokesTheOldTokens: `link` by a user who is linked
// already replaces the stored pair without revoking it: the old
// (api-scoped) tokens stay live in GitLab, known to nobody, and `unlink`
// afterwards revokes only the new pair.
func TestReviewRelinkRevokesTheOldTokens(t *testing.T) {
	e := newEnv(t, gitlab.ActAsBot, true)
	e.link("alice", "alice")
	e.link("alice", "alice")
	e.say("alice", dmOf("alice"), "unlink")
	for _, tok := range e.gl.OAuthTokens() {
		if !tok.Revoked {
			t.Errorf("after link, link again, unlink: a token of %s is still live in GitLab", tok.Username)
		}
	}
}
