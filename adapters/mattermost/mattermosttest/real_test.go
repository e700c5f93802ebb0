package mattermosttest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
