package mattermost

import (
	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
)

func TestRenderGolden(t *testing.T) {
	long := strings.Repeat("0123456789 abcdefghij\n", 1000) + "final line"
	tests := []struct {
		name  string
		reply bot.Reply
	}{
		{"success", bot.Reply{Status: bot.StatusSuccess, Title: "hello-world succeeded",
			Fields: []bot.Field{{Name: "Job", Value: "hello-world"}, {Name: "Duration", Value: "3s"}},
			Code:   "Hello World", Links: []bot.Link{{Label: "Pipeline #12", URL: "https://gitlab.example.com/p/-/pipelines/12"}, {Label: "Job log", URL: "https://gitlab.example.com/p/-/jobs/34"}}}},
		{"refusal", bot.Reply{Status: bot.StatusError, Title: "Unknown job deploi", Text: "Did you mean deploy? *stars* and _underscores_ stay literal."}},
		{"code with fences", bot.Reply{Status: bot.StatusFailure, Title: "docs failed", Code: "```go\nx := 1\n```", CodeNote: "last 2 lines"}},
		{"long output", bot.Reply{Status: bot.StatusSuccess, Title: "big", Code: long}},
		{"issue card", adaptertest.IssueReplies()["issue_card"]},
		{"issue search", adaptertest.IssueReplies()["issue_search"]},
		{"chat reply md", adaptertest.MarkdownReply()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Render(tt.reply, "chatops")
			if n := utf8.RuneCountInString(got); n > MaxPostRunes {
				t.Fatalf("%d runes over the limit", n)
			}
			path := filepath.Join("testdata", "golden", strings.ReplaceAll(tt.name, " ", "_")+".md")
			bottest.Golden(t, path, got)
		})
	}
}

func TestStripMention(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"@chatops run x", "run x", true},
		{"  @ChatOps: run x", "run x", true},
		{"@chatops, help", "help", true},
		{"@chatops", "", true},
		{"@chatopsbot run", "@chatopsbot run", false},
		{"hey @chatops run", "hey @chatops run", false},
		{"@chatops\nrun deploy\nline 2", "run deploy\nline 2", true},
		{"@chat", "@chat", false},
	}
	for _, tt := range tests {
		got, ok := stripMention(tt.in, "chatops")
		if got != tt.want || ok != tt.ok {
			t.Errorf("stripMention(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzParsePost checks that any post text is parsed without panicking and
// that a stripped command is a suffix of the original text.
func FuzzParsePost(f *testing.F) {
	for _, s := range []string{"@chatops run deploy", "@chatops: x", "@chatops", "", "@ché", "hi @chatops", "@CHATOPS\t#1"} {
		f.Add(s, "O")
		f.Add(s, "D")
	}
	f.Fuzz(func(t *testing.T, text, channelType string) {
		p := &model.Post{Id: "p1", ChannelId: "c1", UserId: "u1", Message: text}
		m, ok := ParsePost(p, channelType, "bot", "chatops")
		if !ok {
			t.Fatal("a default post was skipped")
		}
		if !strings.HasSuffix(text, m.Text) {
			t.Fatalf("text %q is not a suffix of %q", m.Text, text)
		}
		if channelType == "D" && !m.Addressed {
			t.Fatal("a DM must be addressed")
		}
	})
}

// FuzzRender checks that whatever a reply's frame says, the post fits and
// mentions nobody but the bot itself.
func FuzzRender(f *testing.F) {
	f.Add("title", "text", "code ```", "@alice", 3)
	f.Add("greet @channel", "ask @chatops. x.@here _@all", "@all", "@chatops_ops", 1)
	f.Fuzz(func(t *testing.T, title, text, code, field string, status int) {
		got := Render(bot.Reply{Status: bot.Status(status % 7), Title: title, Text: text, Code: code,
			Fields: []bot.Field{{Name: field, Value: field}}, Links: []bot.Link{{Label: field, URL: "https://x.io/@a"}}}, "chatops")
		if n := utf8.RuneCountInString(got); n > MaxPostRunes {
			t.Fatalf("%d runes", n)
		}
		for _, m := range mentions(got) {
			if strings.TrimRight(m, ".-_:") != "@chatops" {
				t.Fatalf("%q mentions %s", got, m)
			}
		}
	})
}
