package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

// TestLinkWaitsOutsideTheWorkers: with one worker, a link waiting for
// approval leaves it free (another user's command is answered), and the
// outcome still arrives in the conversation where the link was posted,
// however the device flow ends.
func TestLinkWaitsOutsideTheWorkers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		act   func(e *env, code string) error
		title string
	}{
		{"approved", func(e *env, code string) error { return e.gl.ApproveDevice(code, "alice") }, "Linked to GitLab user alice"},
		{"denied", func(e *env, code string) error { e.gl.DenyDevice(code); return nil }, "Link declined"},
		{"expired", func(e *env, code string) error { e.gl.ExpireDevice(code); return nil }, "The link expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, envOpts{actAs: gitlab.ActAsBot, linking: true, workers: 1})
			e.dm("alice", "link")
			e.wait(dmOf("alice"), "Link your GitLab account")
			e.chat.Say("U-olga", "C-ops", "whoami")
			if r, _, ok := e.chat.WaitFinal("C-ops", 5*time.Second); !ok || r.Title != "You are olga on GitLab" {
				t.Fatalf("while a link waits, another command got %q (answered: %v): the wait holds the only worker", r.Title, ok)
			}
			if err := tt.act(e, e.gl.LastUserCode()); err != nil {
				t.Fatal(err)
			}
			e.wait(dmOf("alice"), tt.title)
			linked := tt.name == "approved"
			if r := e.say("alice", "C-ops", "whoami"); strings.Contains(r.Text, "[identities]") == linked {
				t.Errorf("whoami after %s = %s: %s", tt.name, r.Title, r.Text)
			}
			if n := len(e.chat.Messages(dmOf("alice"))); n != 2 {
				t.Errorf("%d messages in the DM, want the link and the outcome: %+v", n, e.chat.Messages(dmOf("alice")))
			}
		})
	}
}

// TestLinkOnePendingPerIdentity: while a link waits, asking again (here
// or in a channel) is refused without a second flow or a DM; once it has
// ended, link works again.
func TestLinkOnePendingPerIdentity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gitlab.ActAsBot, true)
	code := secondLinkRefused(t, e, e)
	e.gl.DenyDevice(code)
	e.wait(dmOf("alice"), "Link declined")
	e.link("alice", "alice")
}

// TestLinkShutdownWhilePending: stopping the bot ends a pending link's
// wait at once and without a word to the user; the link stays stored for
// the next process (TestLinkResumedAfterRestart).
func TestLinkShutdownWhilePending(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gitlab.ActAsBot, true)
	e.dm("alice", "link")
	e.wait(dmOf("alice"), "Link your GitLab account")
	for deadline := time.Now().Add(10 * time.Second); e.gl.PendingAnswers() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the bot never polled")
		}
	}
	if !e.stop() {
		t.Fatal("the bot did not stop: a pending link held it")
	}
	if msgs := e.chat.Messages(dmOf("alice")); len(msgs) != 1 {
		t.Errorf("after the shutdown the DM holds %d messages, want only the link: %+v", len(msgs), msgs)
	}
	if !strings.Contains(e.logs.String(), "pending link left in the store") {
		t.Error("the link left for the next process was not logged")
	}
}

// TestLinkFromChannelOpensDirectMessage: link asked in a channel sends
// the verification link in a DM the bot opens, says so in the channel,
// and the outcome arrives in the DM; the channel never sees the link.
func TestLinkFromChannelOpensDirectMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gitlab.ActAsBot, true)
	r := e.say("alice", "C-ops", "link")
	if r.Title != "Check your direct messages" || !strings.Contains(r.Text, "I sent you a direct message") {
		t.Fatalf("link in a channel = %s: %s", r.Title, r.Text)
	}
	dm := e.wait(dmOf("alice"), "Link your GitLab account")
	code := e.gl.LastUserCode()
	if code == "" || !strings.Contains(dm.Text, code) || !strings.Contains(dm.Text, e.gl.URL()+"/oauth/device") {
		t.Fatalf("the DM lacks the verification link and code %q: %s", code, dm.Text)
	}
	if err := e.gl.ApproveDevice(code, "alice"); err != nil {
		t.Fatal(err)
	}
	e.wait(dmOf("alice"), "Linked to GitLab user alice")
	msgs := e.chat.Messages("C-ops")
	if len(msgs) != 1 {
		t.Errorf("the channel holds %d messages, want the note only: %+v", len(msgs), msgs)
	}
	for _, m := range msgs {
		if strings.Contains(m.Title+m.Text, code) || strings.Contains(m.Title+m.Text, "/oauth/") {
			t.Errorf("the channel shows the link or code: %s: %s", m.Title, m.Text)
		}
	}
	if r := e.say("alice", "C-ops", "whoami"); !strings.Contains(r.Text, "link") || strings.Contains(r.Text, "[identities]") {
		t.Errorf("whoami after linking = %s: %s", r.Title, r.Text)
	}
	e.noSecrets(dmOf("alice"), "C-ops")
}

// TestLinkFromChannelWithoutDirectMessage: where no DM can be had (the
// platform cannot open one, refuses to, or refuses the post in it), link
// in a channel asks the user to write to the bot, posts no link anywhere,
// logs why, and leaves the user free to link from a DM.
func TestLinkFromChannelWithoutDirectMessage(t *testing.T) {
	t.Parallel()
	refused := bot.Permanent(errors.New("cannot send messages to this user"))
	tests := []struct {
		name  string
		opts  envOpts
		setup func(e *env)
		log   string
	}{
		{"adapter cannot open DMs", envOpts{noDirect: true}, func(*env) {}, "cannot open a direct conversation"},
		{"opening refused", envOpts{}, func(e *env) { e.chat.RefuseDirect(refused) }, "cannot send messages to this user"},
		{"posting refused", envOpts{}, func(e *env) { e.chat.Refuse(dmOf("alice"), refused) }, "could not be posted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.actAs, tt.opts.linking = gitlab.ActAsBot, true
			e := newEnvWith(t, tt.opts)
			tt.setup(e)
			r := e.say("alice", "C-ops", "link")
			if r.Title != "Let's do this privately" || !strings.Contains(r.Text, "Send `link` to me there") {
				t.Fatalf("link in a channel = %s: %s", r.Title, r.Text)
			}
			if code := e.gl.LastUserCode(); code != "" {
				for _, m := range e.chat.Messages("C-ops") {
					if strings.Contains(m.Text, code) {
						t.Errorf("the channel shows the code: %s", m.Text)
					}
				}
			}
			if n := len(e.chat.Messages(dmOf("alice"))); n != 0 {
				t.Errorf("%d messages reached the DM", n)
			}
			if logs := e.logs.String(); !strings.Contains(logs, tt.log) {
				t.Errorf("the logs do not say why (%q):\n%s", tt.log, logs)
			}
			e.chat.Refuse(dmOf("alice"), nil)
			e.link("alice", "alice") // nothing left pending
		})
	}
}

// secondLinkRefused has alice start a link on first, then send `link`
// again on second (first itself, or another instance on its store), in a
// DM and in a channel: both are refused, with no second flow in GitLab and
// no DM opened by second. It returns the first flow's user code.
func secondLinkRefused(t *testing.T, first, second *env) string {
	t.Helper()
	first.dm("alice", "link")
	first.wait(dmOf("alice"), "Link your GitLab account")
	code := first.gl.LastUserCode()
	second.dm("alice", "link")
	second.wait(dmOf("alice"), "A link request is already waiting")
	if r := second.say("alice", "C-ops", "link"); r.Title != "A link request is already waiting" {
		t.Errorf("link in a channel while one waits = %s: %s", r.Title, r.Text)
	}
	if first.gl.LastUserCode() != code || second.chat.DirectOpened() != 0 {
		t.Errorf("a second flow (%s) or a DM (%d) was started", first.gl.LastUserCode(), second.chat.DirectOpened())
	}
	return code
}

// TestRelinkRevokesTheOldTokens: `link` by a user who is linked already
// revokes the pair it replaces, so no token stays live in GitLab known to
// nobody, and `unlink` afterwards leaves none.
func TestRelinkRevokesTheOldTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, gitlab.ActAsBot, true)
	e.link("alice", "alice")
	e.link("alice", "alice")
	if n := len(e.gl.OAuthTokens()); n != 2 {
		t.Fatalf("%d OAuth tokens issued, want 2", n)
	}
	if tok := e.gl.OAuthTokens()[0]; !tok.Revoked {
		t.Errorf("after link, link again: the first pair of %s is still live in GitLab", tok.Username)
	}
	e.say("alice", dmOf("alice"), "unlink")
	for _, tok := range e.gl.OAuthTokens() {
		if !tok.Revoked {
			t.Errorf("after link, link again, unlink: a token of %s is still live in GitLab", tok.Username)
		}
	}
}

// slowDelete is a store whose DeletePendingLink takes a while, as a
// loaded database's would: the outcome is delivered before the link is
// deleted.
type slowDelete struct{ store.Store }

func (s slowDelete) DeletePendingLink(ctx context.Context, id string) (bool, error) {
	time.Sleep(time.Second)
	return s.Store.DeletePendingLink(ctx, id)
}

// TestLinkRightAfterTheOutcome: a `link` sent the moment the previous
// one's outcome arrives (its stored flow not yet deleted) starts a new
// flow; it is not told one is still waiting.
func TestLinkRightAfterTheOutcome(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOpts{actAs: gitlab.ActAsBot, linking: true, wrap: func(s store.Store) store.Store { return slowDelete{s} }})
	e.dm("alice", "link")
	e.wait(dmOf("alice"), "Link your GitLab account")
	e.gl.DenyDevice(e.gl.LastUserCode())
	e.wait(dmOf("alice"), "Link declined")
	e.dm("alice", "link")
	r, ok := e.chat.WaitFor(dmOf("alice"), func(r bot.Reply) bool {
		return r.Title == "Link your GitLab account" || r.Title == "A link request is already waiting"
	}, 20*time.Second)
	if !ok || r.Title != "Link your GitLab account" {
		t.Fatalf("link right after the outcome = %q: %+v", r.Title, e.chat.Messages(dmOf("alice")))
	}
}
