package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/adapters/slack/slacktest"
	"github.com/chatops-dev/chatops/bot"
)

// Slack's limits as it really enforces them (issue 15).

func TestMarkupDenseLongReplyIsAccepted(t *testing.T) {
	var log strings.Builder
	for i := range 2000 {
		log.WriteString("a_b*c~" + strings.Repeat("d", i%3) + "\n") // markup-dense: Slack cuts early
	}
	m := render(bot.Reply{Status: bot.StatusFailure, Title: "build failed", Text: "The *build* failed.", Code: log.String()})
	blocks, _ := json.Marshal(m.Blocks)
	if code, _ := slacktest.CheckMessage(m.Text, blocks); code != "" {
		t.Fatalf("Slack would answer %s", code)
	}
}

func TestEscapeDenseOutputKeepsItsTail(t *testing.T) {
	code := strings.Repeat("<<<<>>>>\n", 1000) + "the end"
	m := render(bot.Reply{Status: bot.StatusFailure, Title: "x", Code: code})
	blocks, _ := json.Marshal(m.Blocks)
	if c, _ := slacktest.CheckMessage(m.Text, blocks); c != "" {
		t.Fatalf("Slack would answer %s", c)
	}
	s := string(blocks)
	if n := strings.Count(s, `\u0026lt;\u0026lt;\u0026lt;\u0026lt;\u0026gt;\u0026gt;\u0026gt;\u0026gt;`); n < 100 || !strings.Contains(s, "the end") {
		t.Fatalf("kept %d lines of output (tail kept: %v): %.600s", n, strings.Contains(s, "the end"), s)
	}
}

func TestBlocksTooLongIsRetriedAtHalfTheBudget(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.LimitBlocksText(6000)
	h.fake.Mention("C1", "U1", "big")
	p := h.nextPost()
	wantContains(t, p, "LAST LINE")
}

func TestRateLimitIsPerMethodNotPerChannel(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.RateLimit("chat.update", 1)
	h.fake.Mention("C1", "U1", "progress one")
	if err := h.fake.WaitRateLimited(h.ctx(), 1); err != nil {
		t.Fatal(err)
	}
	// The fake has sent the 429; wait until the adapter has read it, so
	// the next call is one it made knowing the limit.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(h.logs.String(), "rate limited by Slack") {
		if time.Now().After(deadline) {
			t.Fatal("the adapter never noticed the 429")
		}
		time.Sleep(time.Millisecond)
	}
	h.fake.Mention("C2", "U1", "progress two") // another channel, same method
	edits := 0
	for edits < 2 {
		if p := h.nextPost(); p.Method == "chat.update" {
			edits++
		}
	}
	for _, l := range h.fake.RateLimited() {
		if l.Ignored {
			t.Fatalf("%s was called again while rate limited (Retry-After not honoured across channels): %+v", l.Method, h.fake.RateLimited())
		}
	}
}

func TestSlashResponseURLCarriesOnlyFirstAndFinalMessage(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.NotInChannel("C9")
	h.fake.SlashCommand("C9", "U1", "states deploy")
	var got []string
	for {
		p := h.nextPost()
		if p.Method != "response_url" {
			t.Fatalf("unexpected %s to %s", p.Method, p.Channel)
		}
		got = append(got, p.Text)
		if strings.Contains(p.Text, "result: deploy") {
			break
		}
	}
	if len(got) != 2 || h.fake.RefusedResponses() != 0 {
		t.Fatalf("response_url carried %d messages (%q), %d refused; want the first and the final", len(got), got, h.fake.RefusedResponses())
	}
}

// A watcher edits a slash command's reply long after, in another process,
// from the Sent it stored: the response_url has expired, the bot is not in
// the channel, so the result goes to the requester as a DM.
func TestSlashReplyAfterResponseURLExpiredGoesToDM(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.NotInChannel("C9")
	d := h.fake.SlashCommand("C9", "U1", "echo started")
	if p := h.nextPost(); p.Method != "response_url" {
		t.Fatalf("first reply %s", p.Method)
	}
	h.fake.Advance(31 * time.Minute)
	stored := bot.Sent{Conversation: bot.Conversation{ChannelID: "C9",
		Handle: responseurl.Handle{URL: d.ResponseURL, Issued: time.Now(), User: "U1", Uses: 1}.Encode()}, ID: responseURLID}
	sent, err := h.adapter.Edit(h.ctx(), stored, bot.Reply{Status: bot.StatusSuccess, Title: "finished"})
	if err != nil {
		t.Fatal(err)
	}
	if p := h.nextPost(); p.Method != "chat.postMessage" || p.Channel != "DU1" || !strings.Contains(p.Text, "finished") {
		t.Fatalf("fallback %s to %s: %q", p.Method, p.Channel, p.Text)
	}
	if sent.Conversation.ChannelID != "DU1" || sent.ID == "" || sent.ID == responseURLID {
		t.Fatalf("sent %+v: later edits should update the DM", sent)
	}
}
