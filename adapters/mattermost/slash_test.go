package mattermost

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/adapters/mattermost/mattermosttest"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

// slashHarness is the harness with the adapter's endpoints served over
// HTTP and a custom command "/chatops" on the fake pointing at them.
type slashHarness struct {
	*harness
	cmd     mattermosttest.Command
	url     string        // the bot's listener
	release chan struct{} // lets "wait" answer
}

// slashRouter is the adapters' test router with "whisper <text>" (a
// private answer), "many <n>" (n answers) and "wait" (one answer once
// the test releases it).
func slashRouter(release <-chan struct{}) *commands.Router {
	rt := adaptertest.Router()
	rt.MustHandle(commands.Command{Name: "whisper", Summary: "Answer privately", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			return bot.ReplyPrivately(ctx, w, r.Message, bot.Reply{Title: "whisper", Text: r.RawArgs})
		})})
	rt.MustHandle(commands.Command{Name: "many", Summary: "Answer five times", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			for i := range 5 {
				if _, err := w.Reply(ctx, bot.Reply{Title: "answer " + string(rune('1'+i))}); err != nil {
					return err
				}
			}
			return nil
		})})
	rt.MustHandle(commands.Command{Name: "wait", Summary: "Answer when released", Handler: commands.HandlerFunc(
		func(ctx context.Context, w bot.Responder, r *commands.Request) error {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
			_, err := w.Reply(ctx, bot.Reply{Title: "released"})
			return err
		})})
	return rt
}

func newSlashHarness(t *testing.T, tweak func(*Config)) *slashHarness {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	fake := mattermosttest.New()
	t.Cleanup(fake.Close)
	cmd := fake.AddCommand("chatops", srv.URL+SlashPath)
	h := &slashHarness{harness: &harness{t: t, fake: fake, userID: fake.AddUser("alice", false)}, cmd: cmd, url: srv.URL, release: make(chan struct{})}
	h.start(slashRouter(h.release), func(c *Config) {
		c.SlashTokens = []string{"another-teams-token", "otherteam0000000000000000a:bound-elsewhere-token",
			fake.TeamID + ":bound-here-token", cmd.Token}
		if tweak != nil {
			tweak(c)
		}
	})
	for _, e := range h.ad.Endpoints() {
		mux.Handle(e.Pattern, e.Handler)
	}
	h.waitConnected(1)
	waitState(t, h.ad, bot.StateConnected)
	return h
}

// run executes "/chatops <text>" as alice in channel through the fake,
// as the real server does, and returns the command's direct answer.
func (h *slashHarness) run(channel, text string) *model.CommandResponse {
	h.t.Helper()
	cr, err := h.fake.ExecuteCommand(h.ctx(), channel, h.userID, "/chatops "+text)
	if err != nil {
		h.t.Fatalf("executing /chatops %s: %v", text, err)
	}
	return cr
}

func TestSlashCommandAnsweredInTheChannel(t *testing.T) {
	h := newSlashHarness(t, nil)
	cr := h.run(h.fake.ChannelID, "echo fix #123")
	if cr.Text != "" {
		t.Errorf("the command's own answer shows %q; want nothing (the bot posts the answer)", cr.Text)
	}
	r := h.next()
	if r.Webhook || r.Ephemeral || r.Post.ChannelId != h.fake.ChannelID || r.Post.RootId != "" || !strings.Contains(r.Post.Message, `fix \#123`) {
		t.Fatalf("answer %+v: %q; want a bot post in the channel", r, r.Post.Message)
	}
	// Progress is a post edited in place, as for a mention.
	h.run(h.fake.ChannelID, "progress")
	first, second := h.next(), h.next()
	if first.Patch || !second.Patch || second.Post.Id != first.Post.Id || !strings.Contains(second.Post.Message, "done") {
		t.Fatalf("progress: %+v then %+v", first, second)
	}
}

// A request sent twice (the same trigger id) is one command.
func TestSlashRepeatedRequestHandledOnce(t *testing.T) {
	h := newSlashHarness(t, nil)
	form := url.Values{"token": {h.cmd.Token}, "team_id": {h.fake.TeamID}, "channel_id": {h.fake.ChannelID}, "channel_name": {"ops"},
		"user_id": {h.userID}, "user_name": {"alice"}, "command": {"/chatops"}, "text": {"echo once"}, "trigger_id": {"trigger-1"}}
	for range 2 {
		if code := postForm(t, h.url+SlashPath, form, nil); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	if r := h.next(); !strings.Contains(r.Post.Message, "once") {
		t.Fatalf("answer %q", r.Post.Message)
	}
	h.none(200 * time.Millisecond)
}

func postForm(t *testing.T, u string, form url.Values, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSlashTokens(t *testing.T) {
	h := newSlashHarness(t, nil)
	base := url.Values{"team_id": {h.fake.TeamID}, "channel_id": {h.fake.ChannelID}, "channel_name": {"ops"},
		"user_id": {h.userID}, "user_name": {"alice"}, "command": {"/chatops"}, "text": {"echo token"}}
	tests := []struct {
		name   string
		form   string // the token field
		header string // Authorization
		want   int
	}{
		{"form token", h.cmd.Token, "", http.StatusOK},
		{"another configured token", "another-teams-token", "", http.StatusOK},
		{"a token bound to this team", "bound-here-token", "", http.StatusOK},
		{"a token bound to another team", "bound-elsewhere-token", "", http.StatusUnauthorized},
		{"a bound entry is not a token", h.fake.TeamID + ":bound-here-token", "", http.StatusUnauthorized},
		{"header only", "", "Token " + h.cmd.Token, http.StatusOK},
		{"wrong token", "nosuchtoken", "Token nosuchtoken", http.StatusUnauthorized},
		{"a prefix of the token", h.cmd.Token[:10], "", http.StatusUnauthorized},
		{"bearer is not the command's scheme", "", "Bearer " + h.cmd.Token, http.StatusUnauthorized},
		{"none", "", "", http.StatusUnauthorized},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range base {
				form[k] = v
			}
			form.Set("token", tt.form)
			form.Set("trigger_id", "t"+string(rune('a'+i)))
			header := http.Header{}
			if tt.header != "" {
				header.Set("Authorization", tt.header)
			}
			if code := postForm(t, h.url+SlashPath, form, header); code != tt.want {
				t.Fatalf("status %d, want %d", code, tt.want)
			}
			if tt.want == http.StatusOK {
				h.next()
			} else {
				h.none(100 * time.Millisecond)
			}
		})
	}
	// Through the fake server, a command whose token the bot does not
	// know fails for its user with the status the bot answered.
	other := h.fake.AddCommand("other", h.url+SlashPath)
	_, err := h.fake.ExecuteCommand(h.ctx(), h.fake.ChannelID, h.userID, "/other echo")
	var ae *model.AppError
	if !errors.As(err, &ae) || ae.Id != "api.command.execute_command.failed_resp.app_error" || !strings.Contains(ae.DetailedError, "unknown slash command token") || other.Token == h.cmd.Token {
		t.Fatalf("unknown token: %v", err)
	}
	h.none(100 * time.Millisecond)
}

// A team outside team_ids gets a short ephemeral answer and no command;
// the DM with the bot is served, as a typed DM is.
func TestSlashTeamNotAllowed(t *testing.T) {
	h := newSlashHarness(t, func(c *Config) { c.TeamIDs = []string{model.NewId()} })
	cr := h.run(h.fake.ChannelID, "echo foreign")
	if !strings.Contains(cr.Text, "does not answer in this team") {
		t.Fatalf("answer %q", cr.Text)
	}
	if r := h.next(); !r.Ephemeral || r.Post.UserId != h.userID {
		t.Fatalf("answer %+v, want an ephemeral one for alice", r)
	}
	h.none(200 * time.Millisecond)
	dm := h.fake.DirectChannel(h.userID)
	h.run(dm, "echo direct")
	if r := h.next(); r.Ephemeral || r.Post.ChannelId != dm || !strings.Contains(r.Post.Message, "direct") {
		t.Fatalf("answer in the DM %+v", r)
	}
}

// Where the bot is not a member, the answer goes through the response
// URL (posted by the server as the user, from_webhook); progress states
// after the first are not sent through it, the final one is.
func TestSlashWhereTheBotMayNotPost(t *testing.T) {
	h := newSlashHarness(t, nil)
	ch := h.fake.AddChannel("elsewhere", false)
	h.run(ch, "progress")
	first, second := h.next(), h.next()
	for i, r := range []mattermosttest.Record{first, second} {
		if !r.Webhook || r.Post.ChannelId != ch || r.Post.UserId != h.userID || r.Post.GetProp("from_webhook") != "true" {
			t.Fatalf("answer %d: %+v; want one through the response URL in %s", i, r, ch)
		}
	}
	if !strings.Contains(first.Post.Message, "working") || !strings.Contains(second.Post.Message, "done") {
		t.Fatalf("answers %q, %q", first.Post.Message, second.Post.Message)
	}
	h.none(100 * time.Millisecond)
}

// When the response URL is used up or expired, the answer goes to the
// user as a DM, without using the URL beyond the server's rules.
func TestSlashResponseURLUnusable(t *testing.T) {
	t.Run("used up", func(t *testing.T) {
		h := newSlashHarness(t, nil)
		ch := h.fake.AddChannel("elsewhere", false)
		h.run(ch, "many")
		for i := range 4 {
			if r := h.next(); !r.Webhook {
				t.Fatalf("answer %d: %+v, want it through the response URL", i+1, r)
			}
		}
		h.nextInDM(h.userID, "answer 5", "fifth answer")
	})
	t.Run("expired at the server", func(t *testing.T) {
		h := newSlashHarness(t, nil)
		ch := h.fake.AddChannel("elsewhere", false)
		h.run(ch, "wait")
		h.fake.AgeCommandHooks(31 * time.Minute)
		close(h.release)
		h.nextInDM(h.userID, "released", "expired at the server")
	})
	t.Run("known to be expired", func(t *testing.T) {
		h := newSlashHarness(t, nil)
		ch := h.fake.AddChannel("elsewhere", false)
		hookURL := h.fake.URL() + "/hooks/commands/" + model.NewId()
		to := bot.Conversation{ChannelID: ch, Handle: responseurl.Handle{URL: hookURL, Issued: time.Now().Add(-29*time.Minute - time.Second), User: h.userID}.Encode()}
		sent, err := h.ad.Send(h.ctx(), to, bot.Reply{Title: "late"})
		if err != nil || !sent.Conversation.Direct {
			t.Fatalf("Send = %+v, %v; want a DM", sent, err)
		}
		if r := h.next(); r.Webhook || r.Post.ChannelId != h.fake.DirectChannel(h.userID) {
			t.Fatalf("answer %+v", r)
		}
		if !slices.Contains(h.fake.Requests(), "POST /api/v4/channels/direct") {
			t.Fatal("no DM was opened")
		}
	})
}

// A private answer to a slash command is an ephemeral response; to a
// mention it is a DM; in the DM with the bot it is a post there.
func TestSlashWhisper(t *testing.T) {
	h := newSlashHarness(t, nil)
	h.run(h.fake.ChannelID, "whisper for alice only")
	if r := h.next(); !r.Ephemeral || r.Post.UserId != h.userID || r.Post.ChannelId != h.fake.ChannelID || !strings.Contains(r.Post.Message, "for alice only") {
		t.Fatalf("answer %+v: %q; want an ephemeral one", r, r.Post.Message)
	}
	dm := h.fake.DirectChannel(h.userID)
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops whisper by mention", "")
	h.nextInDM(h.userID, "by mention", "answer to a mention")
	h.run(dm, "whisper in the DM")
	if r := h.next(); r.Ephemeral || r.Webhook || r.Post.ChannelId != dm || !strings.Contains(r.Post.Message, "in the DM") {
		t.Fatalf("answer in the DM %+v, want a post there", r)
	}
}

// Before Run (and after it), a slash command gets 503 with a reason.
func TestSlashWithoutRun(t *testing.T) {
	fake := mattermosttest.New()
	defer fake.Close()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cmd := fake.AddCommand("chatops", srv.URL+SlashPath)
	ad, err := New(Config{URL: fake.URL(), Token: fake.BotToken, Logger: quietLog(), SlashTokens: []string{cmd.Token}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ad.Endpoints() {
		mux.Handle(e.Pattern, e.Handler)
	}
	_, err = fake.ExecuteCommand(context.Background(), fake.ChannelID, fake.AddUser("alice", false), "/chatops echo")
	var ae *model.AppError
	if !errors.As(err, &ae) || !strings.Contains(ae.DetailedError, "not serving Mattermost right now") || !strings.Contains(ae.Error(), "503") {
		t.Fatalf("err = %v, want the bot's 503", err)
	}
}

func TestSlashEndpointsOnlyWhenConfigured(t *testing.T) {
	ad, err := New(Config{URL: "https://mm.example.com", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if e := ad.Endpoints(); len(e) != 0 {
		t.Fatalf("endpoints without slash_tokens: %v", e)
	}
	if _, err := New(Config{URL: "https://mm.example.com", Token: "t", SlashTokens: []string{" "}}); err == nil {
		t.Fatal("an empty slash token was accepted")
	}
}

// The token proves who holds it, not that the response_url is the
// server's: a request naming a URL on another host gets nothing posted
// there (the answer goes to a DM where the bot may not post), unless the
// host is the configured site_url's. A response URL that redirects is not
// followed.
func TestSlashResponseURLOnlyOnTheServer(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://"+r.Host+"/landed", http.StatusTemporaryRedirect)
		}
	}))
	t.Cleanup(other.Close)
	forge := func(h *slashHarness, ch, responseURL, trigger string) {
		t.Helper()
		form := url.Values{"token": {h.cmd.Token}, "team_id": {h.fake.TeamID}, "channel_id": {ch}, "channel_name": {"elsewhere"},
			"user_id": {h.userID}, "user_name": {"alice"}, "command": {"/chatops"}, "text": {"echo hi"},
			"trigger_id": {trigger}, "response_url": {responseURL}}
		if code := postForm(t, h.url+SlashPath, form, nil); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	t.Run("another host", func(t *testing.T) {
		h := newSlashHarness(t, nil)
		ch := h.fake.AddChannel("elsewhere", false)
		forge(h, ch, other.URL+"/hooks/commands/x", "t-other")
		h.nextInDM(h.userID, "", "response URL on another host")
		if n := elsewhere.Load(); n != 0 {
			t.Fatalf("%d requests reached the other host", n)
		}
	})
	t.Run("redirect not followed", func(t *testing.T) {
		elsewhere.Store(0)
		h := newSlashHarness(t, func(c *Config) { c.SiteURL = other.URL })
		ch := h.fake.AddChannel("elsewhere", false)
		forge(h, ch, other.URL+"/redirect", "t-redirect")
		h.nextInDM(h.userID, "", "response URL redirecting")
		if n := elsewhere.Load(); n != 1 {
			t.Fatalf("%d requests reached site_url's host, want 1 (the post, its redirect not followed)", n)
		}
	})
}

// A token bound to its team ("TEAM_ID:TOKEN") is refused with another
// team's id, for what it is: the holder of one team's token cannot act in
// another team's name.
func TestSlashTokenBoundToItsTeam(t *testing.T) {
	h := newSlashHarness(t, nil)
	form := url.Values{"token": {"bound-elsewhere-token"}, "team_id": {h.fake.TeamID}, "channel_id": {h.fake.ChannelID},
		"channel_name": {"ops"}, "user_id": {h.userID}, "user_name": {"alice"}, "command": {"/chatops"}, "text": {"echo x"}, "trigger_id": {"tb"}}
	resp, err := http.PostForm(h.url+SlashPath, form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "belongs to another team") {
		t.Fatalf("status %d: %q; want 401 saying the token is another team's", resp.StatusCode, body)
	}
	h.none(100 * time.Millisecond)
	if team, tok := SplitSlashToken(" t1 : abc "); team != "t1" || tok != "abc" {
		t.Errorf("SplitSlashToken = %q, %q", team, tok)
	}
	if team, tok := SplitSlashToken("abc"); team != "" || tok != "abc" {
		t.Errorf("SplitSlashToken(unbound) = %q, %q", team, tok)
	}
}
