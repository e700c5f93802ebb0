package mattermost

import (
	"os"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/shared/markdown"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/bot"
)

// mentions returns the words the Mattermost server would take for
// mentions in a post's message, as getExplicitMentions does
// (server/channels/app/notification.go): it walks the message with the
// server's own Markdown inspector, gathering adjacent text, and splits
// the text into words as StandardMentionParser.ProcessText does
// (server/channels/app/mention_parser_standard.go, transcribed). Every
// word starting with @ is returned: @channel, @all and @here notify the
// channel, any other @name its user or group.
func mentions(message string) []string {
	var found []string
	process := func(text string) {
		for _, word := range strings.FieldsFunc(text, func(c rune) bool {
			return !(c == ':' || c == '.' || c == '-' || c == '_' || c == '@' || unicode.IsLetter(c) || unicode.IsNumber(c))
		}) {
			if word[0] == ':' && word[len(word)-1] == ':' {
				continue // an emoji
			}
			word = strings.TrimLeft(word, ":.-_")
			// The server also tries the word without trailing ".-:_" and
			// its parts split at ".-:": any of them may name someone.
			parts := append([]string{word, strings.TrimRight(word, ".-:_")},
				strings.FieldsFunc(word, func(c rune) bool { return c == '.' || c == '-' || c == ':' })...)
			for _, p := range parts {
				if len(p) > 1 && p[0] == '@' {
					found = append(found, strings.ToLower(p))
				}
			}
		}
	}
	buf := ""
	markdown.Inspect(message, func(node any) bool {
		text, ok := node.(*markdown.Text)
		if !ok {
			if buf != "" {
				process(buf)
			}
			buf = ""
			return true
		}
		buf += text.Text
		return false
	})
	if buf != "" {
		process(buf)
	}
	return found
}

func TestMentionsSeesWhatTheServerWould(t *testing.T) {
	got := mentions("hi @channel and @Alice. `@here` is code, so is\n\n```\n@all\n```\n[@here](https://x.io) x.@all")
	for _, want := range []string{"@channel", "@alice", "@here", "@all"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s not found in %q", want, got)
		}
	}
}

// A job's chat_reply.md that names @channel, @here, @all and @alice
// mentions nobody once rendered, though the same text posted as written
// would notify the whole channel.
func TestMarkdownNeverMentions(t *testing.T) {
	md, err := os.ReadFile("../../testdata/chat_reply.md")
	if err != nil {
		t.Fatal(err)
	}
	if raw := mentions(string(md)); len(raw) < 4 {
		t.Fatalf("the fixture should mention people when posted as is: %q", raw)
	}
	for _, src := range []string{string(md), "@channel", "**@here**", "[@all](https://x.io/@all)", "# @alice\n\n| @channel |\n|---|\n| @all |",
		"x.@channel _@here_ &#64;all \\@alice", "> - @channel", "<@channel> <b>@here</b>", "@@all", "www.x.io/@channel"} {
		out := Render(bot.Reply{Status: bot.StatusSuccess, Title: "report succeeded", Markdown: src}, "chatops")
		if m := mentions(out); len(m) > 0 {
			t.Errorf("%q rendered as %q mentions %q", src, out, m)
		}
	}
}

// The bot's own text echoes names others chose: an issue's assignees, a
// pipeline's author, a user's arguments. On Mattermost none of them may
// notify anyone; only the bot's own name stays a mention, so help's
// "@chatops run …" can be copied, and "job@ref" stays as typed.
func TestReplyFrameMentionsNobodyButTheBot(t *testing.T) {
	r := bot.Reply{Status: bot.StatusFailure, Title: "deploy@main failed for @alice",
		Text:   "Unknown job \"@here\". Ask @chatops help, or @ChatOps: run x.@all; cc _@bob (@carol) @chatops_admins @chatops.ops",
		Fields: []bot.Field{{Name: "Assignees", Value: "@dave, @erin"}, {Name: "Started by", Value: "@frank"}},
		Links:  []bot.Link{{Label: "@grace's pipeline", URL: "https://gitlab.example.com/g/p/-/pipelines/7"}}}
	out := Render(r, "chatops")
	for _, m := range mentions(out) {
		if strings.TrimRight(m, ".-_:") != "@chatops" {
			t.Errorf("%s left as a mention in:\n%s", m, out)
		}
	}
	for _, keep := range []string{"deploy@main", "Ask @chatops help", "@ChatOps: run", "(https://gitlab.example.com/g/p/-/pipelines/7)"} {
		if !strings.Contains(out, keep) {
			t.Errorf("%q changed in:\n%s", keep, out)
		}
	}
	if raw := mentions(strings.ReplaceAll(out, "\u200d", "")); len(raw) < 10 {
		t.Errorf("the fixture should name people when posted as is: %q", raw)
	}
}

// FuzzRenderMarkdown checks that whatever a job writes, the post fits,
// is valid UTF-8 and mentions nobody.
func FuzzRenderMarkdown(f *testing.F) {
	md, _ := os.ReadFile("../../testdata/chat_reply.md")
	f.Add(string(md))
	for _, s := range []string{"@channel", "x.@here", "[@all](https://x.io)", "| @a |\n|---|\n| b |", "&#64;all", "```\n" + strings.Repeat("x\n", 900)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		out := Render(bot.Reply{Status: bot.StatusSuccess, Title: "report succeeded", Markdown: src}, "chatops")
		if n := utf8.RuneCountInString(out); n > MaxPostRunes {
			t.Fatalf("%d runes", n)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		if m := mentions(out); len(m) > 0 {
			t.Fatalf("%q rendered as %q mentions %q", src, out, m)
		}
	})
}

// Through the real client and the fake server: a job's Markdown reaches
// Mattermost formatted (its table, its code block), with every @ defused.
func TestMarkdownReplyPostedFormattedWithoutMentions(t *testing.T) {
	h := newHarness(t, nil)
	h.waitConnected(1)
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops markdown", "")
	msg := h.next().Post.Message
	if msg != Render(adaptertest.MarkdownReply(), h.fake.BotName) {
		t.Fatalf("posted\n%s\nnot the rendering of the reply", msg)
	}
	for _, want := range []string{"# Deployed v1.4.2 to production", "| service | version | pods |", "```sh\n$ kubectl", "notes for @\u200dchannel",
		"[the dashboard](https://grafana.example.com/d/rollout?var-env=prod&from=now-1h)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("post lacks %q", want)
		}
	}
	if m := mentions(msg); len(m) > 0 {
		t.Errorf("the post mentions %q", m)
	}
}

// Markdown far over the post limit keeps its start and the reply's
// links, and is cut between blocks with a note.
func TestLongMarkdownReplyIsCutCleanly(t *testing.T) {
	h := newHarness(t, nil)
	h.waitConnected(1)
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops bigmarkdown", "")
	msg := h.next().Post.Message
	if n := utf8.RuneCountInString(msg); n > MaxPostRunes {
		t.Fatalf("%d runes", n)
	}
	if !strings.Contains(msg, adaptertest.FirstSection+"\n") || !strings.Contains(msg, "*… (cut: too long for one message)*\n\n[Pipeline \\#12]") {
		t.Fatalf("start, note or links missing: …%s", msg[len(msg)-300:])
	}
	if n := strings.Count(msg, "```"); n%2 != 0 {
		t.Fatalf("%d fences: one is left open", n)
	}
}
