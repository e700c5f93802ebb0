package mattermosttest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestFakeSlashMatchesRecordedServer runs a slash command through the
// fake as mmlive's slash tests do through the real server, and checks
// what the fake sent and answered against the recordings: the request
// (method, headers, form fields), the command's answer to its user, the
// response URL's statuses and errors, and the posts an in_channel and an
// ephemeral answer become.
func TestFakeSlashMatchesRecordedServer(t *testing.T) {
	s := New()
	defer s.Close()
	user := s.AddUser("alice", false)
	seen := make(chan *http.Request, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		seen <- r
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"response_type":"ephemeral","text":"","skip_slack_parsing":true}`))
	}))
	defer srv.Close()
	s.AddCommand("chatops", srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cr, err := s.ExecuteCommand(ctx, s.ChannelID, user, "/chatops run hello-world")
	if err != nil {
		t.Fatal(err)
	}
	r := <-seen

	var want map[string]any
	readReal(t, "slash_request.json", &want)
	form := r.PostForm
	var keys []string
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	hook := form.Get("response_url")
	got := map[string]any{"method": r.Method, "content_type": r.Header.Get("Content-Type"), "accept": r.Header.Get("Accept"),
		"authorization_scheme": strings.SplitN(r.Header.Get("Authorization"), " ", 2)[0], "form_keys": keys,
		"command": form.Get("command"), "text": form.Get("text"), "channel_name": form.Get("channel_name"),
		"response_url_path": strings.TrimSuffix(pathOf(t, hook), hook[strings.LastIndex(hook, "/")+1:])}
	if g, w := jsonString(got), jsonString(want); g != w {
		t.Errorf("the command request\n fake %s\n real %s", g, w)
	}

	var realAnswer map[string]any
	readReal(t, "slash_execute_response.json", &realAnswer)
	if cr.ResponseType != realAnswer["response_type"] || cr.Text != "" || (cr.TriggerId == "") != (realAnswer["trigger_id"] == "") {
		t.Errorf("the command's answer %+v; the real server gives %v", cr, realAnswer)
	}

	statuses := map[string]int{}
	bodies := map[string][]byte{}
	post := func(u, contentType, body string) (int, []byte) {
		resp, err := http.Post(u, contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for i := 1; i <= 5; i++ {
		statuses["use "+string(rune('0'+i))], bodies["ok"] = post(hook, "application/json", `{"response_type":"ephemeral","text":"hook probe"}`)
	}
	statuses["use 6"], bodies["rest_error_hook_used_up"] = post(hook, "application/json", `{"response_type":"ephemeral","text":"hook probe"}`)
	unknown := hook[:strings.LastIndex(hook, "/")+1] + "nosuchhook0000000000000000"
	statuses["unknown"], bodies["rest_error_hook_unknown"] = post(unknown, "application/json", `{"text":"x"}`)
	statuses["bad json"], bodies["rest_error_hook_bad_json"] = post(unknown, "application/json", `{"text":`)
	statuses["plain text"], _ = post(unknown, "text/plain", "plain")
	var realStatuses map[string]int
	readReal(t, "rest_hook_statuses.json", &realStatuses)
	if jsonString(statuses) != jsonString(realStatuses) {
		t.Errorf("response URL statuses\n fake %v\n real %v", statuses, realStatuses)
	}
	var okBody string
	readReal(t, "rest_hook_ok_body.json", &okBody)
	if string(bodies["ok"]) != okBody {
		t.Errorf("accepted: %q, the real server answers %q", bodies["ok"], okBody)
	}
	for _, name := range []string{"rest_error_hook_used_up", "rest_error_hook_unknown", "rest_error_hook_bad_json"} {
		var g, w map[string]any
		_ = json.Unmarshal(bodies[name], &g)
		readReal(t, name+".json", &w)
		for _, k := range []string{"id", "message", "status_code"} {
			if g[k] != w[k] {
				t.Errorf("%s: %s = %v, the real server says %v", name, k, g[k], w[k])
			}
		}
	}

	// What the answers became: five ephemeral ones, then an in_channel
	// one through a fresh command's response URL.
	var eph Record
	for range 5 {
		eph = <-s.botPosts
	}
	if _, err := s.ExecuteCommand(ctx, s.ChannelID, user, "/chatops again"); err != nil {
		t.Fatal(err)
	}
	hook = (<-seen).PostForm.Get("response_url")
	if st, _ := post(hook, "application/json", `{"response_type":"in_channel","text":"in the channel","skip_slack_parsing":true}`); st != http.StatusOK {
		t.Fatalf("in_channel: %d", st)
	}
	inChannel := <-s.botPosts
	for _, c := range []struct {
		name string
		rec  Record
		want bool
	}{{"slash_ephemeral_event.json", eph, eph.Ephemeral}, {"slash_webhook_post.json", inChannel, inChannel.Webhook}} {
		var real map[string]any
		readReal(t, c.name, &real)
		var got map[string]any
		_ = json.Unmarshal([]byte(jsonString(c.rec.Post)), &got)
		if !c.want || got["type"] != real["type"] || jsonString(got["props"]) != jsonString(real["props"]) || got["user_id"] != user {
			t.Errorf("%s: fake %+v (type %v, props %v, user %v); real type %v, props %v, by the command's user",
				c.name, c.rec, got["type"], got["props"], got["user_id"], real["type"], real["props"])
		}
	}
}

func pathOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Path
}
