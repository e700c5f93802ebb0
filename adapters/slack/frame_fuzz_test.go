package slack

import (
	"encoding/json"
	"testing"

	"github.com/slack-go/slack/socketmode"
)

// FuzzSocketModeFrame feeds arbitrary websocket frames through what the
// reader does with one: decode the envelope, then translate its payload.
// Nothing may panic, and a message that comes out must be addressable (a
// platform and a conversation, or the bot could not answer it).
func FuzzSocketModeFrame(f *testing.F) {
	seeds := []string{
		`{"type":"hello","num_connections":1}`,
		`{"type":"disconnect","reason":"warning"}`,
		`{"type":"events_api","envelope_id":"e1","payload":{"type":"event_callback","team_id":"T1","event":{"type":"app_mention","user":"U1","text":"<@UBOT> run deploy","ts":"1.1","channel":"C1"}}}`,
		`{"type":"events_api","envelope_id":"e2","payload":{"type":"event_callback","team_id":"T1","event":{"type":"message","channel_type":"im","user":"U1","text":"run x","ts":"1.2","channel":"D1"}}}`,
		`{"type":"slash_commands","envelope_id":"e3","accepts_response_payload":true,"payload":{"team_id":"T1","channel_id":"C1","user_id":"U1","command":"/chatops","text":"run \"a b","response_url":"https://hooks.slack.com/x","trigger_id":"t1"}}`,
		`{"type":"interactive","envelope_id":"e4","payload":{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"channel":{"id":"C1"},"actions":[{"action_id":"chatops-confirm","value":"abc"}]}}`,
		`{"type":"events_api","envelope_id":"e5","payload":"not an object"}`,
		`{"type":"slash_commands","payload":[1,2]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	a, err := New(Config{AppToken: "xapp-1", BotToken: "xoxb-1"})
	if err != nil {
		f.Fatal(err)
	}
	a.self.Store(&ident{userID: "UBOT", botID: "BBOT"})
	f.Fuzz(func(t *testing.T, frame []byte) {
		var req socketmode.Request
		if err := json.Unmarshal(frame, &req); err != nil {
			return // the reader logs errBadFrame and reads on
		}
		m, ok, err := a.translate(req)
		if err != nil && ok {
			t.Fatalf("translate returned a message and an error: %v", err)
		}
		if !ok {
			return
		}
		if m.Platform != "slack" || m.Conversation.ChannelID == "" {
			t.Fatalf("message nobody can answer: %+v", m)
		}
	})
}
