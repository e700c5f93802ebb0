package slack

import (
	"encoding/json"
	"strings"
	"testing"

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
