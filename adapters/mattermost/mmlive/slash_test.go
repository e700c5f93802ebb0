package mmlive

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/adapters/mattermost"
)

// slashLive is the live setup with a custom command "/chatops" created
// through the API as the admin, its Request URL the adapter's endpoint
// on an HTTP server of the test's (on loopback: the script allows it
// with AllowedUntrustedInternalConnections).
type slashLive struct {
	*live
	cmd *model.Command

	mu       sync.Mutex
	requests []slashSeen // every request the server sent
}

// slashSeen is what the test's HTTP server received.
type slashSeen struct {
	Method, ContentType, Accept, Authorization string
	Form                                       url.Values
}

func setupSlash(t *testing.T) *slashLive {
	t.Helper()
	if os.Getenv("CHATOPS_MM_URL") == "" {
		t.Skip("needs a real Mattermost server: run bash scripts/mattermost-e2e.sh")
	}
	s := &slashLive{}
	mux := http.NewServeMux()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		s.mu.Lock()
		s.requests = append(s.requests, slashSeen{Method: r.Method, ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"),
			Authorization: r.Header.Get("Authorization"), Form: r.PostForm})
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	admin := model.NewAPIv4Client(os.Getenv("CHATOPS_MM_URL"))
	admin.SetToken(os.Getenv("CHATOPS_MM_ADMIN_TOKEN"))
	cmd, _, err := admin.CreateCommand(context.Background(), &model.Command{TeamId: os.Getenv("CHATOPS_MM_TEAM_ID"), Trigger: "chatops",
		Method: model.CommandMethodPost, URL: srv.URL + mattermost.SlashPath, DisplayName: "chatops",
		AutoComplete: true, AutoCompleteHint: "run <job> [arguments]", AutoCompleteDesc: "Run GitLab CI jobs"})
	if err != nil {
		t.Fatalf("creating the slash command as the admin: %v", err)
	}
	t.Cleanup(func() { _, _ = admin.DeleteCommand(context.Background(), cmd.Id) })
	s.cmd = cmd
	// Bound to its team, as the README advises: the real server's
	// requests carry the command's team.
	s.live = setupWith(t, func(c *mattermost.Config) { c.SlashTokens = []string{cmd.TeamId + ":" + cmd.Token} })
	for _, e := range s.ad.Endpoints() {
		mux.Handle(e.Pattern, e.Handler)
	}
	return s
}

// execute runs "/chatops <text>" as alice in channel and returns the
// server's answer to her.
func (s *slashLive) execute(t *testing.T, channel, text string) *model.CommandResponse {
	t.Helper()
	cr, _, err := s.user.ExecuteCommand(context.Background(), channel, "/chatops "+text)
	if err != nil {
		t.Fatalf("executing /chatops %s as alice: %v", text, err)
	}
	return cr
}

func (s *slashLive) lastRequest(t *testing.T) slashSeen {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		t.Fatal("the server sent the bot no request")
	}
	return s.requests[len(s.requests)-1]
}

// TestSlashCommandAnsweredInTheChannel: alice runs /chatops run
// hello-world; the bot answers with its own post in the channel, edited
// in place; nothing else appears (the command's empty answer shows
// nothing). The request's shape is recorded for the fake.
func TestSlashCommandAnsweredInTheChannel(t *testing.T) {
	s := setupSlash(t)
	since := model.GetMillis() - 1
	cr := s.execute(t, s.channelID, "run hello-world")
	p := s.botReply(t, s.channelID, "", since, func(p *model.Post) bool { return strings.Contains(p.Message, "Hello World") })
	if p.EditAt == 0 {
		t.Errorf("the result was posted anew; the progress post should have been edited")
	}
	list, _, err := s.user.GetPostsSince(context.Background(), s.channelID, since, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range list.ToSlice() {
		if q.UserId != s.botID {
			t.Errorf("a post not the bot's appeared: %+v", q)
		}
	}
	crj, _ := json.Marshal(cr)
	keep(t, "slash_execute_response", crj)

	req := s.lastRequest(t)
	keys := make([]string, 0, len(req.Form))
	for k := range req.Form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	shape := map[string]any{"method": req.Method, "content_type": req.ContentType, "accept": req.Accept,
		"authorization_scheme": strings.SplitN(req.Authorization, " ", 2)[0], "form_keys": keys,
		"command": req.Form.Get("command"), "text": req.Form.Get("text"), "channel_name": req.Form.Get("channel_name"),
		"response_url_path": strings.TrimSuffix(mustPath(t, req.Form.Get("response_url")), lastSegment(req.Form.Get("response_url")))}
	sj, _ := json.Marshal(shape)
	keep(t, "slash_request", sj)
	if req.Form.Get("token") != s.cmd.Token || req.Authorization != "Token "+s.cmd.Token || req.Form.Get("team_id") != os.Getenv("CHATOPS_MM_TEAM_ID") ||
		req.Form.Get("user_id") != s.userID || req.Form.Get("channel_id") != s.channelID || req.Form.Get("text") != "run hello-world" || req.Form.Get("trigger_id") == "" {
		t.Errorf("request %+v", req)
	}
}

func mustPath(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("response_url %q: %v", u, err)
	}
	return p.Path
}

func lastSegment(u string) string { return u[strings.LastIndex(u, "/")+1:] }

// TestSlashWhereTheBotIsNotAMember: in a channel alice made, which the
// bot is not in, the answer comes through the response URL: the server
// posts it as alice, marked from_webhook.
func TestSlashWhereTheBotIsNotAMember(t *testing.T) {
	s := setupSlash(t)
	ch, _, err := s.user.CreateChannel(context.Background(), &model.Channel{TeamId: os.Getenv("CHATOPS_MM_TEAM_ID"), Name: "elsewhere-" + model.NewId()[:8],
		DisplayName: "Elsewhere", Type: model.ChannelTypeOpen})
	if err != nil {
		t.Fatal(err)
	}
	since := model.GetMillis() - 1
	s.execute(t, ch.Id, "echo from elsewhere")
	var got *model.Post
	for deadline := time.Now().Add(30 * time.Second); got == nil && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		list, _, err := s.user.GetPostsSince(context.Background(), ch.Id, since, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list.ToSlice() {
			if strings.Contains(p.Message, "from elsewhere") {
				got = p
			}
		}
	}
	if got == nil {
		t.Fatal("no answer in the channel")
	}
	pj, _ := json.Marshal(got)
	keep(t, "slash_webhook_post", pj)
	if got.UserId != s.userID || got.GetProp("from_webhook") != "true" {
		t.Errorf("answer by %s with props %v; want alice's, from_webhook", got.UserId, got.GetProps())
	}
}

// TestSlashWhisperIsEphemeral: a private answer reaches alice as an
// ephemeral post on her websocket, and nobody's channel.
func TestSlashWhisperIsEphemeral(t *testing.T) {
	s := setupSlash(t)
	ws, err := model.NewWebSocketClient4(strings.Replace(s.url, "http", "ws", 1), os.Getenv("CHATOPS_MM_USER_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.Listen()
	since := model.GetMillis() - 1
	s.execute(t, s.channelID, "whisper for alice only")
	timeout := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-ws.EventChannel:
			if ev.EventType() != model.WebsocketEventEphemeralMessage {
				continue
			}
			raw, _ := ev.GetData()["post"].(string)
			if strings.Contains(raw, "for alice only") {
				keep(t, "slash_ephemeral_event", []byte(raw))
				done = true
			}
		case <-timeout:
			t.Fatal("no ephemeral message reached alice")
		}
	}
	list, _, err := s.user.GetPostsSince(context.Background(), s.channelID, since, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.ToSlice() {
		if strings.Contains(p.Message, "for alice only") {
			t.Errorf("the private answer was posted in the channel: %+v", p)
		}
	}
}

// TestWireCommandHook records how the real server answers posts to a
// response URL (/hooks/commands/<id>): five accepted, the sixth refused,
// an unknown id, an unreadable body; for the fake to be checked against
// (mattermosttest.TestFakeCommandHookMatchesRecordedServer).
func TestWireCommandHook(t *testing.T) {
	s := setupSlash(t)
	s.execute(t, s.channelID, "echo hook probe")
	hook := s.lastRequest(t).Form.Get("response_url")
	post := func(u, contentType, body string) (int, []byte) {
		return rawCall(t, "POST", u, http.Header{"Content-Type": {contentType}}, body)
	}
	statuses := map[string]int{}
	bodies := map[string][]byte{}
	for i := 1; i <= 5; i++ {
		st, body := post(hook, "application/json", `{"response_type":"ephemeral","text":"hook probe"}`)
		statuses["use "+string(rune('0'+i))] = st
		bodies["ok"] = body
	}
	statuses["use 6"], bodies["rest_error_hook_used_up"] = post(hook, "application/json", `{"response_type":"ephemeral","text":"hook probe"}`)
	unknown := hook[:strings.LastIndex(hook, "/")+1] + model.NewId()
	statuses["unknown"], bodies["rest_error_hook_unknown"] = post(unknown, "application/json", `{"text":"x"}`)
	statuses["bad json"], bodies["rest_error_hook_bad_json"] = post(unknown, "application/json", `{"text":`)
	statuses["plain text"], _ = post(unknown, "text/plain", "plain")
	sj, _ := json.Marshal(statuses)
	keep(t, "rest_hook_statuses", sj)
	keep(t, "rest_hook_ok_body", []byte(`"`+string(bodies["ok"])+`"`))
	for _, name := range []string{"rest_error_hook_used_up", "rest_error_hook_unknown", "rest_error_hook_bad_json"} {
		keep(t, name, bodies[name])
	}
	if statuses["use 5"] != http.StatusOK || statuses["use 6"] == http.StatusOK {
		t.Errorf("statuses %v: want 5 uses accepted and the sixth refused", statuses)
	}
}
