package slack

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/adapters/slack/slacktest"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/plugins/run/policy"
)

// buttonOf returns the action_id of the first button in a post's blocks.
func buttonOf(t *testing.T, p slacktest.Post) string {
	t.Helper()
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(p.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if b.Type == "actions" && len(b.Elements) > 0 && b.Elements[0].Type == "button" {
			return b.Elements[0].ActionID
		}
	}
	return ""
}

// TestConfirmButton: a job with confirm = true asks with a Block Kit
// button; someone else's click is answered "not yours" with
// chat.postEphemeral and runs nothing; the requester's click runs the job
// in the thread.
func TestConfirmButton(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	demo, plugin := adaptertest.DemoRunWith(t, "slack:U1", func(o *run.Options) {
		o.Policy = policy.Set{Global: map[string]policy.Rule{"hello-world": {Confirm: true}}}
	})
	h := newHarness(t, harnessOpts{plugins: []commands.Plugin{plugin}})
	d := h.fake.Mention("C1", "U1", "run hello-world")
	var question slacktest.Post
	for question.TS == "" {
		p, err := h.fake.NextPost(ctx)
		if err != nil {
			t.Fatalf("no question: %v (posts: %+v)", err, h.fake.Posts())
		}
		if p.Method == "chat.postMessage" && buttonOf(t, p) != "" {
			question = p
		}
	}
	action := buttonOf(t, question)
	if !strings.HasPrefix(action, "confirm:") || question.ThreadTS != d.TS {
		t.Fatalf("question %+v with button %q", question, action)
	}

	h.fake.ClickButton(slacktest.Click{Channel: "C1", MessageTS: question.TS, ThreadTS: d.TS, User: "U2", ActionID: action, Value: action})
	eph, err := h.fake.WaitEphemerals(ctx, 1)
	if err != nil {
		t.Fatalf("no ephemeral answer to someone else's click: %v", err)
	}
	e := eph[0]
	if e.User != "U2" || e.Channel != "C1" || !strings.Contains(e.Text+string(e.Blocks), "Not yours") {
		t.Fatalf("ephemeral %+v", e)
	}

	h.fake.ClickButton(slacktest.Click{Channel: "C1", MessageTS: question.TS, ThreadTS: d.TS, User: "U1", ActionID: action, Value: action})
	defused := false
	for {
		p, err := h.fake.NextPost(ctx)
		if err != nil {
			t.Fatalf("no result: %v (posts: %+v)", err, h.fake.Posts())
		}
		if p.Method == "chat.update" && p.TS == question.TS {
			if buttonOf(t, p) != "" || !strings.Contains(string(p.Blocks), "Confirmed by") {
				t.Fatalf("the question after the click: %s", p.Blocks)
			}
			defused = true
			continue
		}
		if p.Method == "chat.postMessage" && p.ThreadTS != d.TS {
			t.Fatalf("posted in thread %q, want %q", p.ThreadTS, d.TS)
		}
		if strings.Contains(string(p.Blocks), "Hello World") {
			break
		}
	}
	if !defused {
		t.Error("the question kept its button after the confirmation")
	}
	if pipes := demo.Pipelines(); len(pipes) != 1 || pipes[0].Variables["CHAT_USER_ID"] != "U1" {
		t.Fatalf("pipelines %+v", pipes)
	}
}

// TestBlockActionPayload: a block_actions payload as Slack documents it
// (https://api.slack.com/reference/interaction-payloads/block-actions),
// parsed by slack-go, is a click from its user in the message's thread;
// other interaction types are not.
func TestBlockActionPayload(t *testing.T) {
	raw := `{"type":"block_actions","user":{"id":"U9","username":"ada","name":"ada","team_id":"T1"},
		"api_app_id":"A1","token":"x","container":{"type":"message","message_ts":"17.2","channel_id":"C1","is_ephemeral":false},
		"trigger_id":"1.2.3","team":{"id":"T1","domain":"d"},"enterprise":null,"is_enterprise_install":false,
		"channel":{"id":"C1","name":"general"},
		"message":{"type":"message","user":"UB","ts":"17.2","thread_ts":"17.1","bot_id":"B1","text":"Run?"},
		"state":{"values":{}},"response_url":"https://hooks.slack.com/actions/T1/1/x",
		"actions":[{"action_id":"confirm:ABC","block_id":"actions","text":{"type":"plain_text","text":"Run","emoji":true},
			"value":"confirm:ABC","style":"danger","type":"button","action_ts":"17.3"}]}`
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(raw), &cb); err != nil {
		t.Fatal(err)
	}
	m, ok := fromBlockAction(cb)
	if !ok || m.Action != "confirm:ABC" || m.Sender.ID != "U9" || m.Conversation.ChannelID != "C1" || m.Conversation.ThreadID != "17.1" || m.ActionOn != "17.2" || m.EventID == "" {
		t.Fatalf("%+v", m)
	}
	cb.Type = slack.InteractionTypeViewSubmission
	if _, ok := fromBlockAction(cb); ok {
		t.Error("a view submission became a message")
	}
}
