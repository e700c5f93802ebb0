package slack

import (
	"bytes"
	"encoding/json"
	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/adapters/slack/slacktest"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
)

var renderCases = []struct {
	name  string
	reply bot.Reply
}{
	{"success_full", bot.Reply{Status: bot.StatusSuccess, Title: "deploy succeeded",
		Text:     "Deployed *v1.2.3* to production.\nAll checks passed.",
		Fields:   []bot.Field{{Name: "Job", Value: "deploy #42"}, {Name: "Duration", Value: "1m 12s"}},
		Code:     "$ make deploy\nok <done> & dusted\n",
		CodeNote: "last 2 lines",
		Links:    []bot.Link{{Label: "Pipeline #7", URL: "https://gitlab.example/p/-/pipelines/7"}, {Label: "Job log", URL: "https://gitlab.example/p/-/jobs/42"}}}},
	{"error_text_only", bot.Reply{Status: bot.StatusError, Text: "Unknown command <run>. Try `help` & see."}},
	{"info_help", bot.Reply{Title: "Commands", Text: "help  show this\nrun   run a CI job"}},
	{"working", bot.Reply{Status: bot.StatusWorking, Title: "running deploy"}},
	{"code_with_fences", bot.Reply{Status: bot.StatusFailure, Title: "lint failed", Code: "```\nnot a fence\n```"}},
	{"link_needs_escaping", bot.Reply{Links: []bot.Link{{Label: "a|b <c>", URL: "https://x.example/?q=a|b&c=<d>"}, {URL: "https://bare.example/"}}}},
	{"many_fields", bot.Reply{Title: "facts", Fields: func() []bot.Field {
		var fs []bot.Field
		for _, n := range strings.Fields("a b c d e f g h i j k l") {
			fs = append(fs, bot.Field{Name: n, Value: strings.ToUpper(n)})
		}
		return fs
	}()}},
	{"long_code_tail", bot.Reply{Status: bot.StatusFailure, Title: "job failed", Code: strings.Repeat("0123456789 abcdefghij\n", 1000) + "the end\n"}},
}

func TestRenderGolden(t *testing.T) {
	cases := renderCases
	for _, name := range []string{"issue_card", "issue_search"} {
		cases = append(cases, struct {
			name  string
			reply bot.Reply
		}{name, adaptertest.IssueReplies()[name]})
	}
	cases = append(cases, struct {
		name  string
		reply bot.Reply
	}{"chat_reply_md", adaptertest.MarkdownReply()})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := render(tc.reply)
			blocks, err := json.Marshal(m.Blocks)
			if err != nil {
				t.Fatal(err)
			}
			// Whatever we render, Slack must accept.
			if code, details := slacktest.CheckMessage(m.Text, blocks); code != "" {
				t.Fatalf("Slack would reject this: %s %v", code, details)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // keep <url|label> readable in the golden file
			enc.SetIndent("", "  ")
			if err := enc.Encode(struct {
				Text   string `json:"text"`
				Blocks any    `json:"blocks"`
			}{m.Text, m.Blocks}); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join("testdata", "golden", tc.name+".json")
			bottest.Golden(t, path, string(got))
		})
	}
}

func TestRenderStaysWithinLimits(t *testing.T) {
	for _, r := range []bot.Reply{
		bigReply(),
		{Code: strings.Repeat("&", 200000)},
		{Text: strings.Repeat("x", 500000)},
		{Title: strings.Repeat("t", 1000), Fields: []bot.Field{{Name: strings.Repeat("n", 3000), Value: strings.Repeat("v", 5000)}}},
		{Code: strings.Repeat("é", 100000)}, // one long line
	} {
		m := render(r)
		blocks, _ := json.Marshal(m.Blocks)
		if code, details := slacktest.CheckMessage(m.Text, blocks); code != "" {
			t.Errorf("Slack would reject this: %s %.300v", code, details)
		}
	}
}

func TestRenderKeepsCodeTail(t *testing.T) {
	m := render(bot.Reply{Code: strings.Repeat("early line\n", 5000) + "final line", CodeNote: "from job 1"})
	blocks, _ := json.Marshal(m.Blocks)
	s := string(blocks)
	if !strings.Contains(s, "final line") || !strings.Contains(s, "from job 1; ") || !strings.Contains(s, "earlier lines not shown") {
		t.Errorf("tail or note missing: %.500s", s)
	}
}

// FuzzRender checks that whatever a plugin replies, Slack accepts the
// rendered message.
func FuzzRender(f *testing.F) {
	f.Add("title", "text & <b>", "code\n```\nx", "note", "label|x", "https://x.io/?a=1&b=<2>", 3)
	f.Add("", strings.Repeat("é&", 9000), strings.Repeat("line\n", 5000), "", "", "", 25)
	f.Fuzz(func(t *testing.T, title, text, code, note, label, url string, nFields int) {
		r := bot.Reply{Status: bot.StatusFailure, Title: title, Text: text, Code: code, CodeNote: note,
			Links: []bot.Link{{Label: label, URL: url}}}
		for i := range min(max(nFields, 0), 40) {
			r.Fields = append(r.Fields, bot.Field{Name: label + string(rune('a'+i%26)), Value: text})
		}
		m := render(r)
		blocks, err := json.Marshal(m.Blocks)
		if err != nil {
			t.Fatal(err)
		}
		if r.IsZero() {
			return
		}
		if code, details := slacktest.CheckMessage(m.Text, blocks); code != "" && code != "no_text" {
			t.Fatalf("Slack would reject this: %s %.300v", code, details)
		}
	})
}

// Job output and echoed user text cannot notify a channel: the mrkdwn
// text objects keep verbatim false (Slack then auto-links bare URLs, and
// auto-parses "certain mentions" it does not list), so every @ starting a
// word outside code is followed by a zero-width joiner, in the text, the
// fields, the code's note, the link labels and the notification text.
// Code is shown as written.
func TestRenderDefusesMentions(t *testing.T) {
	m := render(bot.Reply{Status: bot.StatusFailure, Title: "deploy @here", Text: "ping @channel and @everyone, mail a@b.io",
		Fields:   []bot.Field{{Name: "@here", Value: "@alice"}},
		Code:     "echo @everyone",
		CodeNote: "by @channel",
		Links:    []bot.Link{{URL: "https://x.io", Label: "@here"}}})
	all := blockTexts(t, m)
	for _, name := range []string{"here", "channel", "everyone", "alice"} {
		for _, line := range strings.Split(all, "\n") {
			if strings.Contains(line, "@"+name) && !strings.Contains(line, "echo @everyone") {
				t.Errorf("@%s not defused in %q", name, line)
			}
		}
	}
	for _, want := range []string{"ping @\u200dchannel and @\u200deveryone, mail a@b.io", "*@\u200dhere*\n@\u200dalice", "_by @\u200dchannel_", "|@\u200dhere>", "echo @everyone"} {
		if !strings.Contains(all, want) {
			t.Errorf("rendered text lacks %q:\n%s", want, all)
		}
	}
}
