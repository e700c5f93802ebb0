package identity_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
)

// TestLinkRunWhoamiUnlink is the whole life of a link: the device flow
// (with pending polls), whoami, a pipeline created with the user's own
// token, the stored tokens sealed, and unlink revoking them.
func TestLinkRunWhoamiUnlink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gitlab.ActAsBot, true)
	e.dm("alice", "link")
	r := e.wait(dmOf("alice"), "Link your GitLab account")
	code := e.gl.LastUserCode()
	if !strings.Contains(r.Text, e.gl.URL()+"/oauth/device?user_code="+code) || !strings.Contains(r.Text, code) {
		t.Fatalf("the link reply lacks the verification link and code: %s", r.Text)
	}
	// Approve only once the bot has been told to wait at least once.
	for deadline := time.Now().Add(10 * time.Second); e.gl.PendingAnswers() == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the bot never polled")
		}
	}
	if err := e.gl.ApproveDevice(code, "alice"); err != nil {
		t.Fatal(err)
	}
	e.wait(dmOf("alice"), "Linked to GitLab user alice")

	if r := e.say("alice", "C-ops", "whoami"); r.Title != "You are alice on GitLab" || !strings.Contains(r.Text, "`link`") {
		t.Errorf("whoami = %s: %s", r.Title, r.Text)
	}
	if r := e.say("alice", "C-ops", "run deploy-staging"); r.Status != bot.StatusSuccess {
		t.Fatalf("run = %s: %s", r.Title, r.Text)
	}
	tokens := e.gl.OAuthTokens()
	if len(tokens) != 1 || tokens[0].Username != "alice" {
		t.Fatalf("tokens = %+v", tokens)
	}
	pls := e.gl.Pipelines()
	if len(pls) != 1 || pls[0].Token != tokens[0].Token {
		t.Fatalf("the pipeline was created with %q, want alice's OAuth token", pls[0].Token)
	}
	e.noSecrets(dmOf("alice"), "C-ops")

	if r := e.say("alice", "C-ops", "unlink"); r.Title != "Unlinked from GitLab user alice" {
		t.Fatalf("unlink = %s: %s", r.Title, r.Text)
	}
	for _, tok := range e.gl.OAuthTokens() {
		if !tok.Revoked {
			t.Errorf("token of %s not revoked", tok.Username)
		}
	}
	if r := e.say("alice", "C-ops", "whoami"); r.Title != "You are alice on GitLab" || !strings.Contains(r.Text, "[identities]") {
		t.Errorf("whoami after unlink = %s: %s", r.Title, r.Text)
	}
	if r := e.say("alice", "C-ops", "unlink"); r.Title != "You are not linked" {
		t.Errorf("second unlink = %s", r.Title)
	}
	// Unlinked, act_as = bot: the bot's token again.
	if r := e.say("alice", "C-ops", "run deploy-staging"); r.Status != bot.StatusSuccess {
		t.Fatalf("run = %s: %s", r.Title, r.Text)
	}
	if pls := e.gl.Pipelines(); pls[len(pls)-1].Token != e.gl.Token {
		t.Errorf("after unlink the pipeline was created with %q, want the bot's token", pls[len(pls)-1].Token)
	}
	e.noSecrets(dmOf("alice"), "C-ops")
}

// TestLinkSlowDown: a slow_down answer makes the bot poll more slowly
// (x/oauth2 adds 5s, as RFC 8628 says) and still link.
func TestLinkSlowDown(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for RFC 8628's 5 second slow_down backoff")
	}
	e := newEnv(t, gitlab.ActAsBot, true)
	e.gl.SlowDown(1)
	e.dm("alice", "link")
	e.wait(dmOf("alice"), "Link your GitLab account")
	if err := e.gl.ApproveDevice(e.gl.LastUserCode(), "alice"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.wait(dmOf("alice"), "Linked to GitLab user alice")
	if time.Since(start) < 4*time.Second {
		t.Errorf("linked %s after the approval: the slow_down was not honoured", time.Since(start))
	}
}

// TestRefreshBeforeExpiry: a token that expires within RefreshBefore is
// refreshed before it is used, and the new pair is what acts and what is
// stored.
func TestRefreshBeforeExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gitlab.ActAsUser, true)
	e.gl.SetTokenLifetime(time.Minute) // under the default 5m margin
	e.link("alice", "alice")
	if r := e.say("alice", "C-ops", "run deploy-staging"); r.Status != bot.StatusSuccess {
		t.Fatalf("run = %s: %s", r.Title, r.Text)
	}
	if n := e.gl.Refreshes(); n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}
	var live string
	for _, tok := range e.gl.OAuthTokens() {
		if !tok.Revoked {
			live = tok.Token
		}
	}
	if pls := e.gl.Pipelines(); len(pls) != 1 || pls[0].Token != live {
		t.Fatalf("the pipeline was created with %q, want the refreshed token %q", pls[0].Token, live)
	}
	// The refreshed pair was saved: the next run refreshes from it (the
	// old refresh token no longer works: GitLab rotates them).
	if r := e.say("alice", "C-ops", "run deploy-staging"); r.Status != bot.StatusSuccess {
		t.Fatalf("second run = %s: %s", r.Title, r.Text)
	}
	if n := e.gl.Refreshes(); n != 2 {
		t.Fatalf("refreshes = %d, want 2", n)
	}
	e.noSecrets(dmOf("alice"), "C-ops")
}

// TestUnlinkedUserUnderEachActAs: what a user without a link gets.
func TestUnlinkedUserUnderEachActAs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		actAs     string
		status    bot.Status
		title     string
		wantSudo  string
		wantToken bool // the pipeline made with the bot's token
	}{
		{gitlab.ActAsBot, bot.StatusSuccess, "", "", true},
		{gitlab.ActAsUser, bot.StatusError, "Link your GitLab account first", "", false},
		{gitlab.ActAsSudo, bot.StatusSuccess, "", "alice", true},
	}
	for _, tt := range tests {
		t.Run(tt.actAs, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.actAs, true)
			r := e.say("alice", "C-ops", "run deploy-staging")
			if r.Status != tt.status || (tt.title != "" && r.Title != tt.title) {
				t.Fatalf("run = %v %s: %s", r.Status, r.Title, r.Text)
			}
			pls := e.gl.Pipelines()
			if !tt.wantToken {
				if len(pls) != 0 {
					t.Fatalf("pipelines were created: %+v", pls)
				}
				return
			}
			if len(pls) != 1 || pls[0].Token != e.gl.Token || pls[0].Sudo != tt.wantSudo {
				t.Fatalf("pipelines = %+v, want one by the bot's token with Sudo %q", pls, tt.wantSudo)
			}
			// Not a member: refused by the role check whatever the mode.
			if r := e.say("olga", "C-ops", "run deploy-staging"); r.Status != bot.StatusError {
				t.Errorf("olga's run = %v %s", r.Status, r.Title)
			}
		})
	}
}

// TestLinkingOff: without oauth_client_id, link says so and whoami shows
// the [identities] mapping.
func TestLinkingOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gitlab.ActAsBot, false)
	e.dm("alice", "link")
	e.wait(dmOf("alice"), "Linking is off")
	if r := e.say("alice", "C-ops", "whoami"); r.Title != "You are alice on GitLab" {
		t.Errorf("whoami = %s", r.Title)
	}
	if r := e.say("nobody", "C-ops", "whoami"); r.Title != "You are not linked to a GitLab account" || !strings.Contains(r.Text, "[identities]") {
		t.Errorf("whoami = %s: %s", r.Title, r.Text)
	}
}

// TestCancelAsLinkedUser: a linked user's cancel is made with their token.
func TestCancelAsLinkedUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gitlab.ActAsBot, true)
	e.gl.Block("deploy-staging")
	e.link("alice", "alice")
	e.chat.Say("U-alice", "C-ops", "run deploy-staging")
	// cancel needs the run to know its pipeline: wait for the progress
	// reply that links it (the pipeline existing in GitLab is not enough).
	e.chat.WaitFor("C-ops", func(r bot.Reply) bool {
		for _, f := range r.Fields {
			if f.Name == "Pipeline" {
				return true
			}
		}
		return false
	}, 20*time.Second)
	// The reply can link the pipeline a moment before the run is saved
	// with it; cancel then says "no pipeline yet, try again": do so.
	for try := 0; ; try++ {
		e.chat.Say("U-alice", "C-ops", "cancel")
		r, _ := e.chat.WaitFor("C-ops", func(r bot.Reply) bool {
			return strings.HasPrefix(r.Title, "Canceling deploy-staging") || strings.Contains(r.Title, "has no pipeline yet")
		}, 20*time.Second)
		if strings.HasPrefix(r.Title, "Canceling deploy-staging") {
			break
		}
		if try == 5 {
			t.Fatalf("cancel: %+v", e.chat.Messages("C-ops"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok := e.gl.OAuthTokens()[0].Token
	var found bool
	for _, r := range e.gl.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/cancel") {
			found = true
			if r.Token != tok {
				t.Errorf("%s %s made with %q, want alice's token", r.Method, r.Path, r.Token)
			}
		}
	}
	if !found {
		t.Fatal("no cancel request")
	}
	e.noSecrets(dmOf("alice"), "C-ops")
}

// TestRevokedInGitLab: a link whose refresh token GitLab no longer
// accepts (the user revoked chatops in GitLab) is forgotten, and the user
// is told to link again rather than silently acting as the bot.
func TestRevokedInGitLab(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gitlab.ActAsBot, true)
	e.gl.SetTokenLifetime(time.Minute) // every use refreshes
	e.link("alice", "alice")
	resp, err := http.PostForm(e.gl.URL()+"/oauth/revoke", url.Values{"token": {e.gl.OAuthTokens()[0].Refresh}, "client_id": {"chatops-app"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := e.say("alice", "C-ops", "run deploy-staging"); r.Title != "Your GitLab link stopped working" {
		t.Fatalf("run = %s: %s", r.Title, r.Text)
	}
	if n := len(e.gl.Pipelines()); n != 0 {
		t.Fatalf("%d pipelines created", n)
	}
	if r := e.say("alice", "C-ops", "whoami"); !strings.Contains(r.Text, "[identities]") {
		t.Errorf("whoami = %s: %s", r.Title, r.Text)
	}
	e.noSecrets(dmOf("alice"), "C-ops")
}
