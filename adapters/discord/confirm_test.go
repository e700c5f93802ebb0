package discord

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/discord/discordtest"
	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/plugins/run/policy"
)

// buttonOf returns the custom_id of the first button in a post's
// components.
func buttonOf(t *testing.T, p discordtest.Post) string {
	t.Helper()
	if p.Components == "" || p.Components == "null" {
		return ""
	}
	var rows []struct {
		Type       int `json:"type"`
		Components []struct {
			Type     int    `json:"type"`
			CustomID string `json:"custom_id"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(p.Components), &rows); err != nil {
		t.Fatalf("components %s: %v", p.Components, err)
	}
	for _, r := range rows {
		if r.Type == 1 && len(r.Components) > 0 && r.Components[0].Type == 2 {
			return r.Components[0].CustomID
		}
	}
	return ""
}

// TestConfirmButton: a job with confirm = true asks with a button;
// someone else's click is acknowledged (type 6) and answered "not yours"
// in an ephemeral follow-up (flags 64), running nothing; the requester's
// click runs the job, its answer replacing the question (buttons gone).
func TestConfirmButton(t *testing.T) {
	demo, plugin := adaptertest.DemoRunWith(t, "discord:u1", func(o *run.Options) {
		o.Policy = policy.Set{Global: map[string]policy.Rule{"hello-world": {Confirm: true}}}
	})
	rt := commands.NewRouter("chatops")
	if err := rt.Add(plugin); err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, rt, nil)
	h.ready(1)
	h.mention("c1", "u1", "run hello-world")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	next := func() discordtest.Post {
		t.Helper()
		p, err := h.fake.NextPost(ctx)
		if err != nil {
			t.Fatalf("no post: %v", err)
		}
		return p
	}
	q := next()
	action := buttonOf(t, q)
	if q.Kind != "create" || !strings.HasPrefix(action, "confirm:") || !strings.Contains(q.Content, "confirm "+strings.TrimPrefix(action, "confirm:")) {
		t.Fatalf("question %+v", q)
	}

	h.fake.ClickButton(discordtest.Click{ChannelID: "c1", GuildID: "g1", UserID: "u2", MessageID: q.MessageID, CustomID: action})
	if p := next(); p.Kind != "callback" || p.CallbackType != 6 {
		t.Fatalf("click not acknowledged with a deferred update: %+v", p)
	}
	if p := next(); p.Kind != "followup" || p.Flags != 64 || !strings.Contains(p.Content, "Not yours") {
		t.Fatalf("someone else's click: %+v", p)
	}

	h.fake.ClickButton(discordtest.Click{ChannelID: "c1", GuildID: "g1", UserID: "u1", MessageID: q.MessageID, CustomID: action})
	if p := next(); p.Kind != "callback" || p.CallbackType != 6 {
		t.Fatalf("click not acknowledged: %+v", p)
	}
	for {
		p := next()
		if p.Kind != "edit-original" && p.Kind != "edit" {
			t.Fatalf("the run's answer is a %s, want an edit of the question: %+v", p.Kind, p)
		}
		if p.Components != "[]" {
			t.Fatalf("buttons left on the answer: %s", p.Components)
		}
		if strings.Contains(p.Content, "Hello") {
			break
		}
	}
	if pipes := demo.Pipelines(); len(pipes) != 1 || pipes[0].Variables["CHAT_USER_ID"] != "u1" {
		t.Fatalf("pipelines %+v", pipes)
	}
}
