package discord

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
)

// Through discordgo and the fake: a job's Markdown reaches Discord in its
// dialect (no table, no #### heading), and with allowed_mentions that
// lets nothing in it notify anyone.
func TestMarkdownReplySentFormattedWithoutPings(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.mention("c1", "u1", "markdown")
	p := h.next()
	if p.Content != Render(adaptertest.MarkdownReply()) {
		t.Fatalf("sent\n%s\nnot the rendering of the reply", p.Content)
	}
	for _, want := range []string{"# Deployed v1.4.2 to production", "**Details for whoever is on call**", "service  version  pods", "```sh\n$ kubectl"} {
		if !strings.Contains(p.Content, want) {
			t.Errorf("message lacks %q", want)
		}
	}
	if strings.Contains(p.Content, "####") || strings.Contains(p.Content, "| service |") {
		t.Error("a heading or table Discord does not render")
	}
	var allowed struct {
		Parse []string `json:"parse"`
		Users []string `json:"users"`
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal([]byte(p.AllowedMentions), &allowed); err != nil || allowed.Parse == nil || len(allowed.Parse)+len(allowed.Users)+len(allowed.Roles) > 0 {
		t.Errorf("allowed_mentions %q (%v): the @channel, @here and <@…> in the reply could notify", p.AllowedMentions, err)
	}
}

// Markdown far over 2000 characters keeps its start, the links and
// closed fences.
func TestLongMarkdownReplyIsCutCleanly(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.mention("c1", "u1", "bigmarkdown")
	p := h.next()
	if n := utf8.RuneCountInString(p.Content); n > MaxMessageRunes {
		t.Fatalf("%d runes", n)
	}
	if !strings.Contains(p.Content, adaptertest.FirstSection+"\n") || !strings.HasSuffix(p.Content, "*… (cut: too long for one message)*\n\n[Pipeline \\#12](https://gitlab.example.com/ops/app/-/pipelines/12) · [Job log](https://gitlab.example.com/ops/app/-/jobs/34)") {
		t.Fatalf("start, note or links missing:\n%s", p.Content)
	}
	if n := strings.Count(p.Content, "```"); n%2 != 0 {
		t.Fatalf("%d fences: one is left open", n)
	}
}
