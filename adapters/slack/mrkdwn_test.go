package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/adapters/internal/mdoc"
	"github.com/chatops-dev/chatops/adapters/slack/slacktest"
	"github.com/chatops-dev/chatops/bot"
)

func TestMrkdwn(t *testing.T) {
	tests := []struct{ name, md, want string }{
		{"emphasis", "**bold** *em* ~~gone~~ `code`", "*bold* _em_ ~gone~ `code`"},
		{"nested", "***both*** and **a *b* c**", "_*both*_ and *a _b_ c*"},
		{"headings are bold lines", "# Title\n\n#### **Deep** one", "*Title*\n\n*Deep one*"},
		{"links", "[docs](https://x.io/a?b=1&c=2) <https://bare.io> [a|b](https://x.io/p|q)",
			"<https://x.io/a?b=1&amp;c=2|docs> <https://bare.io> <https://x.io/p%7Cq|a¦b>"},
		{"escaped text", "1 < 2 & <!channel> <@U1>", "1 &lt; 2 &amp; &lt;!channel&gt; &lt;@\u200dU1&gt;"},
		{"mentions defused", "@here and @channel, _@everyone_ @alice: a@b.io `@here`", "@\u200dhere and @\u200dchannel, _@\u200deveryone_ @\u200dalice: <mailto:a@b.io|a@b.io> `@here`"},
		{"text that would be a quote", "\\> not a quote", "\u200b&gt; not a quote"},
		{"code span with a backtick", "`` a`b ``", "`aˋb`"},
		{"lists", "- a\n  - b\n    - c\n      - d\n- e\n\n3. x\n4. y", "• a\n    ◦ b\n        ▪ c\n            ▪ d\n• e\n\n3. x\n4. y"},
		{"quote", "> a\n>\n> b", "> a\n>\n> b"},
		{"code block", "````go\nif a < b {\n```\n````", "```\nif a &lt; b {\n`\u200b`\u200b`\n```"},
		{"table", "| a | b |\n|---|--:|\n| x | 10 |", "```\na   b\n-  --\nx  10\n```"},
		{"rule", "a\n\n***\n\nb", "a\n\n──────────\n\nb"},
		{"hard break", "a\\\nb", "a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := toMrkdwn(mdoc.Parse(tt.md)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// unsafeAngles returns the <…> sequences of mrkdwn that are not links the
// renderer made: Slack notifies only through <!channel>, <!here>,
// <!everyone>, <@U…> and <!subteam^…>, so none may come from a job.
func unsafeAngles(s string) []string {
	var bad []string
	for i := strings.IndexByte(s, '<'); i >= 0; {
		rest := s[i:]
		if !strings.HasPrefix(rest, "<http://") && !strings.HasPrefix(rest, "<https://") && !strings.HasPrefix(rest, "<mailto:") {
			bad = append(bad, rest[:min(len(rest), 20)])
		}
		j := strings.IndexByte(s[i+1:], '<')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return bad
}

// blockTexts is every text of a message as Slack would read it.
func blockTexts(t testing.TB, m message) string {
	t.Helper()
	raw, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	var bs []struct {
		Text     *struct{ Text string } `json:"text"`
		Fields   []struct{ Text string }
		Elements []struct{ Text string }
	}
	if err := json.Unmarshal(raw, &bs); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(m.Text + "\n")
	for _, bl := range bs {
		if bl.Text != nil {
			b.WriteString(bl.Text.Text + "\n")
		}
		for _, f := range bl.Fields {
			b.WriteString(f.Text + "\n")
		}
		for _, e := range bl.Elements {
			b.WriteString(e.Text + "\n")
		}
	}
	return b.String()
}

func TestMarkdownCannotPing(t *testing.T) {
	for _, md := range []string{adaptertest.ChatReplyMD(), "<!channel> <!here|here> <@U024BE7LH> <!subteam^S1>", "`<!channel>`", "```\n<!everyone>\n```",
		"[<!channel>](https://x.io) [x](https://x.io/<!here>)", "&lt;!channel&gt; &#60;!here&#62;", "| <!channel> |\n|---|\n| <@U1> |"} {
		m := render(bot.Reply{Status: bot.StatusSuccess, Title: "report succeeded", Markdown: md})
		all := blockTexts(t, m)
		if bad := unsafeAngles(all); len(bad) > 0 {
			t.Errorf("%q: Slack would read %q as markup", md, bad)
		}
	}
	all := blockTexts(t, render(adaptertest.MarkdownReply()))
	if !strings.Contains(all, "&lt;!channel&gt; or &lt;@\u200dU024BE7LH&gt;") {
		t.Error("the fixture's <!channel> and <@U…> are not shown escaped")
	}
}

// The Markdown gets the room the rest of the reply leaves, keeps its
// start, is cut between blocks with a note, and every section is one
// Slack accepts.
func TestMarkdownSectionsWithinBudget(t *testing.T) {
	src := adaptertest.BigMarkdownReply().Markdown
	for _, tt := range []struct{ room, sections int }{{9000, 45}, {4500, 45}, {2000, 45}, {9000, 2}, {100, 5}} {
		blocks, used := markdownSections(src, tt.room, tt.sections)
		m := message{Text: "x", Blocks: blocks}
		all := blockTexts(t, m)
		if used > tt.room || len(blocks) > tt.sections || utf8.RuneCountInString(all)-2 > tt.room+len(blocks) {
			t.Fatalf("room %d, %d sections: used %d in %d sections", tt.room, tt.sections, used, len(blocks))
		}
		raw, _ := json.Marshal(blocks)
		if code, details := slacktest.CheckMessage("x", raw); code != "" {
			t.Fatalf("room %d: Slack would answer %s %v", tt.room, code, details)
		}
		if !strings.HasSuffix(strings.TrimSpace(all), mdCutNote) {
			t.Fatalf("room %d: no cut note:\n%s", tt.room, all)
		}
		if tt.room >= 2000 && !strings.HasPrefix(all, "x\n*Section 1*\n\nSome _prose_") {
			t.Fatalf("room %d: the start is not kept:\n%.200s", tt.room, all)
		}
		for _, b := range blocks {
			if n := strings.Count(blockTexts(t, message{Blocks: []slack.Block{b}}), "```"); n%2 != 0 {
				t.Fatalf("room %d: a section with %d fences", tt.room, n)
			}
		}
	}
}

// Through slack-go and the fake: the Markdown reply is posted as mrkdwn
// sections Slack accepts, formatted and with every < of the job's
// escaped.
func TestMarkdownReplyPostedAsMrkdwn(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.Mention("C1", "U1", "markdown")
	p := h.nextPost()
	if code, details := slacktest.CheckMessage(p.Text, p.Blocks); code != "" {
		t.Fatalf("Slack would answer %s %v", code, details)
	}
	var blocks []struct {
		Type string
		Text *struct{ Type, Text string }
	}
	if err := json.Unmarshal(p.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	for _, b := range blocks {
		if b.Type == "section" && b.Text != nil {
			if b.Text.Type != "mrkdwn" {
				t.Fatalf("a %s section", b.Text.Type)
			}
			md.WriteString(b.Text.Text + "\n")
		}
	}
	for _, want := range []string{"*Deployed v1.4.2 to production*", "• ☑ smoke tests (*12/12*)", "    1. eu-west", "&lt;!channel&gt; or &lt;@\u200dU024BE7LH&gt;",
		"<https://grafana.example.com/d/rollout?var-env=prod&amp;from=now-1h|the dashboard>", "> *Note:*", "```\n$ kubectl"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("sections lack %q", want)
		}
	}
	if bad := unsafeAngles(md.String() + p.Text); len(bad) > 0 {
		t.Errorf("markup from the job: %q", bad)
	}
}

// A long Markdown reply that Slack refuses as too long (its limit moves
// with the content) is posted again at half the budget, still with its
// start, a cut note and the reply's links.
func TestLongMarkdownReplyIsRetriedShorter(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.LimitBlocksText(6000)
	h.fake.Mention("C1", "U1", "bigmarkdown")
	p := h.nextPost()
	wantContains(t, p, "*Section 1*", mdCutNote, "Job log")
	if code, _ := slacktest.CheckMessage(p.Text, p.Blocks); code != "" {
		t.Fatalf("Slack would answer %s", code)
	}
}

// FuzzMrkdwn checks the Markdown → mrkdwn converter: whatever a job
// writes, the text is valid UTF-8 with no markup of the job's (no <…>
// but the renderer's links), and the reply holding it is one Slack
// accepts.
func FuzzMrkdwn(f *testing.F) {
	f.Add(adaptertest.ChatReplyMD(), 9000)
	for _, s := range []string{"<!channel>", "*a _b ~c~ d_ e*", "```\n" + strings.Repeat("<&>\n", 500) + "```", "- " + strings.Repeat("é", 4000),
		"| a | b |\n|---|---|\n" + strings.Repeat("| <x> | & |\n", 200), "> " + strings.Repeat("q ", 2000), "[x](https://x.io/a>b|c)"} {
		f.Add(s, 3000)
	}
	f.Fuzz(func(t *testing.T, src string, budget int) {
		s := toMrkdwn(mdoc.Parse(src))
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8: %q", s)
		}
		if bad := unsafeAngles(s); len(bad) > 0 {
			t.Fatalf("%q: markup %q", src, bad)
		}
		budget = 1000 + abs(budget)%maxMessageText
		m := renderWithin(bot.Reply{Status: bot.StatusSuccess, Title: "t", Markdown: src, Links: []bot.Link{{Label: "Job", URL: "https://x/y"}}}, budget)
		raw, err := json.Marshal(m.Blocks)
		if err != nil {
			t.Fatal(err)
		}
		if code, details := slacktest.CheckMessage(m.Text, raw); code != "" {
			t.Fatalf("Slack would answer %s %.300v", code, details)
		}
		if n := utf8.RuneCountInString(blockTexts(t, m)) - utf8.RuneCountInString(m.Text); n > budget+len(m.Blocks) {
			t.Fatalf("%d characters of blocks over a budget of %d", n, budget)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
