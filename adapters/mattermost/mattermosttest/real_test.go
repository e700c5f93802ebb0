package mattermosttest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"
)

// realDir holds what a real Mattermost 9.9 sent, recorded by
// adapters/mattermost/mmlive (bash scripts/mattermost-e2e.sh -record).
var realDir = filepath.Join("..", "mmlive", "testdata", "real")

func readReal(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(realDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestFakeMatchesRecordedServer checks the fake's websocket against the
// real server's recordings: the order of the first frames, the posted
// event's data keys, and the post JSON inside it.
func TestFakeMatchesRecordedServer(t *testing.T) {
	s := New()
	defer s.Close()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL(), "http")+"/api/v4/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := conn.WriteJSON(map[string]any{"seq": 1, "action": "authentication_challenge", "data": map[string]any{"token": s.BotToken}}); err != nil {
		t.Fatal(err)
	}
	var frames []string
	for len(frames) < 2 {
		var f map[string]any
		if err := conn.ReadJSON(&f); err != nil {
			t.Fatal(err)
		}
		ev, _ := f["event"].(string)
		seq := f["seq"]
		if seq == nil {
			seq = f["seq_reply"]
		}
		frames = append(frames, ev+"/seq_reply="+strings.TrimSuffix(strings.TrimSuffix(jsonString(seq), ".0"), "\n"))
	}
	var realFrames []string
	readReal(t, "ws_first_frames.json", &realFrames)
	if strings.Join(frames, ",") != strings.Join(realFrames, ",") {
		t.Errorf("first frames %v, the real server sends %v", frames, realFrames)
	}

	user := s.AddUser("alice", false)
	s.Post(s.ChannelID, user, "@chatops wire probe", "")
	var ev map[string]any
	if err := conn.ReadJSON(&ev); err != nil {
		t.Fatal(err)
	}
	var real map[string]any
	readReal(t, "ws_posted.json", &real)
	gotData, realData := ev["data"].(map[string]any), real["data"].(map[string]any)
	if g, r := strings.Join(keys(gotData), ","), strings.Join(keys(realData), ","); g != r {
		t.Errorf("posted data keys\n fake %s\n real %s", g, r)
	}
	var gotPost, realPost map[string]any
	_ = json.Unmarshal([]byte(gotData["post"].(string)), &gotPost)
	readReal(t, "ws_posted_post.json", &realPost)
	for k, v := range gotPost {
		rv, ok := realPost[k]
		if !ok {
			t.Errorf("post key %q: the real server does not send it", k)
			continue
		}
		if (v == nil) != (rv == nil) {
			t.Errorf("post key %q: fake %v, real %v", k, v, rv)
		}
	}
	for _, k := range []string{"id", "channel_id", "user_id", "root_id", "message", "create_at", "props", "type"} {
		if _, ok := gotPost[k]; !ok {
			t.Errorf("the fake's post lacks %q", k)
		}
	}
}

// TestFakeDirectChannelMatchesRecordedServer makes the calls of
// mmlive.TestWireDirectChannel against the fake: the same statuses, the
// same error ids and messages, and a DM channel shaped as the real one.
func TestFakeDirectChannelMatchesRecordedServer(t *testing.T) {
	s := New()
	defer s.Close()
	user := s.AddUser("alice", false)
	open := func(body string) (int, []byte) {
		req, err := http.NewRequest("POST", s.URL()+"/api/v4/channels/direct", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+s.BotToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	ids := func(ids ...string) string { return jsonString(ids) }
	statuses := map[string]int{}
	bodies := map[string][]byte{}
	var created []byte
	statuses["bot and user"], created = open(ids(s.BotID, user))
	statuses["again, reversed"], bodies["again"] = open(ids(user, s.BotID))
	statuses["two others"], bodies["rest_error_direct_not_caller"] = open(ids(user, model.NewId()))
	statuses["unknown user"], bodies["rest_error_direct_unknown_user"] = open(ids(s.BotID, model.NewId()))
	statuses["bad id"], bodies["rest_error_direct_bad_id"] = open(ids(s.BotID, "not-an-id"))
	statuses["one other"], _ = open(ids(user))
	statuses["not json"], _ = open("{")
	var real map[string]int
	readReal(t, "rest_direct_statuses.json", &real)
	if jsonString(statuses) != jsonString(real) {
		t.Errorf("statuses\n fake %v\n real %v", statuses, real)
	}
	for _, name := range []string{"rest_error_direct_not_caller", "rest_error_direct_unknown_user", "rest_error_direct_bad_id"} {
		var got, want map[string]any
		_ = json.Unmarshal(bodies[name], &got)
		readReal(t, name+".json", &want)
		for _, k := range []string{"id", "message", "status_code"} {
			if got[k] != want[k] {
				t.Errorf("%s: %s = %v, the real server says %v", name, k, got[k], want[k])
			}
		}
	}

	var got, again, want map[string]any
	if err := json.Unmarshal(created, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(bodies["again"], &again)
	readReal(t, "rest_direct_channel.json", &want)
	if got["id"] == "" || again["id"] != got["id"] {
		t.Errorf("the second open gave channel %v, the first %v", again["id"], got["id"])
	}
	if got["type"] != want["type"] || got["team_id"] != want["team_id"] || got["name"] != model.GetDMNameFromIds(s.BotID, user) {
		t.Errorf("channel type %v team %q name %v; the real server sends type %v, team %q, name <sorted ids joined by __>",
			got["type"], got["team_id"], got["name"], want["type"], want["team_id"])
	}
	for _, k := range []string{"id", "create_at", "update_at", "type", "name", "team_id", "display_name"} {
		if _, ok := want[k]; !ok {
			t.Errorf("the recording lacks %q", k)
		}
		if _, ok := got[k]; !ok {
			t.Errorf("the fake's channel lacks %q", k)
		}
	}
	if got["create_at"] == float64(0) {
		t.Error("the fake's channel has no create_at")
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
