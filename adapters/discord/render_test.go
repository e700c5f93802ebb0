package discord

import (
	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
)

func TestRenderGolden(t *testing.T) {
	long := strings.Repeat("log line with some text\n", 200) + "LAST LINE"
	cases := map[string]bot.Reply{
		"info": {Status: bot.StatusInfo, Title: "Commands", Text: "`run <job>` starts a job"},
		"success": {Status: bot.StatusSuccess, Title: "hello-world passed",
			Fields: []bot.Field{{Name: "Pipeline", Value: "#42"}, {Name: "Duration", Value: "3.2s"}},
			Code:   "Hello, world!\n", CodeNote: "last 1 line",
			Links: []bot.Link{{Label: "job", URL: "http://gitlab.example/job/7"}}},
		"failure_long_log": {Status: bot.StatusFailure, Title: "build failed", Code: long},
		"error":            {Status: bot.StatusError, Text: "unknown job `helo`; did you mean `hello`?"},
		"issue_card":       adaptertest.IssueReplies()["issue_card"],
		"issue_search":     adaptertest.IssueReplies()["issue_search"],
		"chat_reply_md":    adaptertest.MarkdownReply(),
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			got := Render(r)
			if n := utf8.RuneCountInString(got); n > MaxMessageRunes {
				t.Fatalf("rendered %d runes, limit %d", n, MaxMessageRunes)
			}
			path := filepath.Join("testdata", name+".golden")
			bottest.Golden(t, path, got)
		})
	}
}

// TestHeadingsDiscordRenders: Discord renders #, ## and ### only; a
// deeper heading shows its hashes literally. Checked on the golden files
// too, so they cannot drift back.
func TestHeadingsDiscordRenders(t *testing.T) {
	check := func(name, s string) {
		for line := range strings.SplitSeq(s, "\n") {
			if strings.HasPrefix(line, "####") {
				t.Errorf("%s: %q is a heading Discord does not render", name, line)
			}
		}
	}
	check("render", Render(bot.Reply{Status: bot.StatusSuccess, Title: "done", Text: "ok"}))
	files, _ := filepath.Glob(filepath.Join("testdata", "*.golden"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		check(f, string(b))
	}
}
