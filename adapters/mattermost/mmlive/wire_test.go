package mmlive

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"
)

var record = flag.Bool("record", false, "write what the real server sent to testdata/real/")

// keep logs a real server frame or body and, with -record, writes it to
// testdata/real/<name>.json so the fake (adapters/mattermost/mattermosttest)
// can be checked against it.
func keep(t *testing.T, name string, raw []byte) {
	t.Helper()
	t.Logf("%s: %s", name, raw)
	if !*record {
		return
	}
	var v any
	if json.Unmarshal(raw, &v) == nil {
		raw, _ = json.MarshalIndent(v, "", "  ")
	}
	if err := os.MkdirAll(filepath.Join("testdata", "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "real", name+".json"), append(raw, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func rawCall(t *testing.T, method, url string, header http.Header, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestWireShapes records what the real server sends where the fake
// imitates it: the websocket handshake, hello and posted events, a post,
// error bodies, the accepted Authorization forms, and the post length
// limit. It asserts the facts the adapter relies on.
func TestWireShapes(t *testing.T) {
	l := setup(t)
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(l.url, "http", "ws", 1)+"/api/v4/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"seq": 1, "action": "authentication_challenge", "data": map[string]any{"token": l.botToken}}); err != nil {
		t.Fatal(err)
	}
	frames := map[string][]byte{}
	var order []string // which frame came first matters to a client
	cmd := l.post(t, l.channelID, "@chatops wire probe")
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for frames["posted"] == nil {
		_, raw, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("reading the websocket: %v (have %d frames)", err, len(frames))
		}
		var f struct {
			Event    string `json:"event"`
			SeqReply int    `json:"seq_reply"`
			Data     map[string]any
		}
		_ = json.Unmarshal(raw, &f)
		if len(order) < 2 {
			order = append(order, f.Event+fmt.Sprintf("/seq_reply=%d", f.SeqReply))
		}
		switch {
		case f.SeqReply == 1:
			frames["auth_reply"] = raw
		case f.Event == "hello" || f.Event == "posted" && f.Data["post"] != nil && strings.Contains(f.Data["post"].(string), cmd.Id):
			frames[f.Event] = raw
		}
	}
	oj, _ := json.Marshal(order)
	keep(t, "ws_first_frames", oj)
	for name, raw := range frames {
		keep(t, "ws_"+name, raw)
	}
	if !bytes.Contains(frames["auth_reply"], []byte(`"status":"OK"`)) {
		t.Errorf("auth reply %s", frames["auth_reply"])
	}
	var posted model.WebSocketEvent
	if err := json.Unmarshal(frames["posted"], &posted); err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Data struct {
			Post        string `json:"post"`
			Mentions    string `json:"mentions"`
			ChannelType string `json:"channel_type"`
		} `json:"data"`
	}
	if err := json.Unmarshal(frames["posted"], &ev); err != nil {
		t.Fatalf("posted event: post or mentions not JSON strings: %v", err)
	}
	if ev.Data.ChannelType != "O" || !strings.Contains(ev.Data.Mentions, l.botID) {
		t.Errorf("posted: channel_type %q, mentions %q", ev.Data.ChannelType, ev.Data.Mentions)
	}
	keep(t, "ws_posted_post", []byte(ev.Data.Post))

	bearer := func(scheme, tok string) http.Header {
		return http.Header{"Authorization": {scheme + " " + tok}, "Content-Type": {"application/json"}}
	}
	_, body := rawCall(t, "GET", l.url+"/api/v4/posts/"+cmd.Id, bearer("Bearer", l.botToken), "")
	keep(t, "rest_get_post", body)

	statuses := map[string]int{}
	for _, scheme := range []string{"BEARER", "Bearer", "bearer", "Token", "token"} {
		statuses[scheme], _ = rawCall(t, "GET", l.url+"/api/v4/users/me", bearer(scheme, l.botToken), "")
	}
	statuses["access_token query"], _ = rawCall(t, "GET", l.url+"/api/v4/users/me?access_token="+l.botToken, http.Header{}, "")
	statuses["none"], body = rawCall(t, "GET", l.url+"/api/v4/users/me", http.Header{}, "")
	keep(t, "rest_error_401_no_token", body)
	statuses["bad token"], body = rawCall(t, "GET", l.url+"/api/v4/users/me", bearer("Bearer", "nosuchtoken"), "")
	keep(t, "rest_error_401_bad_token", body)
	sj, _ := json.Marshal(statuses)
	keep(t, "rest_auth_header_statuses", sj)
	for _, s := range []string{"BEARER", "Bearer", "Token"} {
		if statuses[s] != http.StatusOK {
			t.Errorf("Authorization: %s answered %d", s, statuses[s])
		}
	}

	_, body = rawCall(t, "GET", l.url+"/api/v4/posts/"+model.NewId(), bearer("Bearer", l.botToken), "")
	keep(t, "rest_error_get_missing_post", body)

	// The post length limit, in runes: 16383 accepted, one more refused.
	for _, n := range []int{16383, 16384} {
		msg, _ := json.Marshal(map[string]string{"channel_id": l.channelID, "message": strings.Repeat("é", n)})
		st, body := rawCall(t, "POST", l.url+"/api/v4/posts", bearer("Bearer", l.botToken), string(msg))
		want := http.StatusCreated
		if n > 16383 {
			want = http.StatusBadRequest
			keep(t, "rest_error_post_too_long", body)
		}
		if st != want {
			t.Errorf("post of %d runes: %d, want %d: %.300s", n, st, want, body)
		}
	}

	// A bad token on the websocket: what does the server answer?
	bad, _, err := websocket.DefaultDialer.Dial(strings.Replace(l.url, "http", "ws", 1)+"/api/v4/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	_ = bad.WriteJSON(map[string]any{"seq": 1, "action": "authentication_challenge", "data": map[string]any{"token": "nosuchtoken"}})
	_ = bad.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []string
	for {
		_, raw, err := bad.ReadMessage()
		if err != nil {
			got = append(got, "read error: "+err.Error())
			break
		}
		got = append(got, string(raw))
	}
	bj, _ := json.Marshal(got)
	keep(t, "ws_bad_token", bj)

}

// TestWireDirectChannel records how the real server answers the bot's
// POST /channels/direct (what the adapter's OpenDirect sends): the DM
// channel, the same again, and its refusals, for the fake to be checked
// against (mattermosttest.TestFakeDirectChannelMatchesRecordedServer).
func TestWireDirectChannel(t *testing.T) {
	l := setup(t)
	h := http.Header{"Authorization": {"Bearer " + l.botToken}, "Content-Type": {"application/json"}}
	open := func(ids ...string) (int, []byte) {
		b, _ := json.Marshal(ids)
		return rawCall(t, "POST", l.url+"/api/v4/channels/direct", h, string(b))
	}
	statuses := map[string]int{}
	var body []byte
	statuses["bot and user"], body = open(l.botID, l.userID)
	keep(t, "rest_direct_channel", body)
	var ch model.Channel
	if err := json.Unmarshal(body, &ch); err != nil {
		t.Fatal(err)
	}
	if ch.Type != model.ChannelTypeDirect || ch.Name != model.GetDMNameFromIds(l.botID, l.userID) {
		t.Errorf("direct channel: type %q name %q", ch.Type, ch.Name)
	}
	var again model.Channel
	statuses["again, reversed"], body = open(l.userID, l.botID)
	if err := json.Unmarshal(body, &again); err != nil || again.Id != ch.Id {
		t.Errorf("opening again gave %s, want channel %s", body, ch.Id)
	}
	statuses["two others"], body = open(l.userID, model.NewId())
	keep(t, "rest_error_direct_not_caller", body)
	statuses["unknown user"], body = open(l.botID, model.NewId())
	keep(t, "rest_error_direct_unknown_user", body)
	statuses["bad id"], body = open(l.botID, "not-an-id")
	keep(t, "rest_error_direct_bad_id", body)
	statuses["one other"], _ = open(l.userID)
	statuses["not json"], _ = rawCall(t, "POST", l.url+"/api/v4/channels/direct", h, "{")
	sj, _ := json.Marshal(statuses)
	keep(t, "rest_direct_statuses", sj)
	if statuses["bot and user"] != http.StatusCreated {
		t.Errorf("statuses %v", statuses)
	}
}
