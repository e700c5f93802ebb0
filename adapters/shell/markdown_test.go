package shell

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
)

// The sample chat_reply.md as the terminal shows it, without and with
// colours.
func TestRenderMarkdownGolden(t *testing.T) {
	for _, color := range []bool{false, true} {
		name := "chat_reply_md.txt"
		if color {
			name = "chat_reply_md_color.txt"
		}
		bottest.Golden(t, filepath.Join("testdata", name), Render(adaptertest.MarkdownReply(), color)+"\n")
	}
}

func TestRenderMarkdown(t *testing.T) {
	tests := []struct{ name, md, plain, color string }{
		{"headings", "# One\n\n## Two\n\n### Three", "One\n===\n\nTwo\n---\n\nThree\n-----",
			"\x1b[1m\x1b[4mOne\x1b[24m\x1b[22m\n\n\x1b[1m\x1b[4mTwo\x1b[24m\x1b[22m\n\n\x1b[1mThree\x1b[22m"},
		{"nested emphasis keeps the outer attribute", "**a *b* c**", "**a *b* c**", "\x1b[1ma \x1b[3mb\x1b[23m c\x1b[22m"},
		{"links", "[docs](https://x.io) https://y.io", "docs <https://x.io> https://y.io", "\x1b[4mdocs\x1b[24m <https://x.io> \x1b[4mhttps://y.io\x1b[24m"},
		{"lists", "- a\n  1. b\n  2. c\n- d", "• a\n  1. b\n  2. c\n• d", ""},
		{"quote and code", "> q\n\n```\nx\n```", "│ q\n\n  | x", ""},
		{"no escape sequences from the job", "a\x1b[2Jb `c\x1b]0;t\x07`\n\n```\nd\x1b[31m\n```", "a[2Jb `c]0;t`\n\n  | d[31m", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderMarkdown(tt.md, false); got != tt.plain {
				t.Errorf("plain:\n%q\nwant\n%q", got, tt.plain)
			}
			if tt.color == "" {
				return
			}
			if got := renderMarkdown(tt.md, true); got != tt.color {
				t.Errorf("colour:\n%q\nwant\n%q", got, tt.color)
			}
		})
	}
}

// Printed at the terminal, a Markdown reply is formatted text, not its
// source.
func TestSendPrintsMarkdownFormatted(t *testing.T) {
	var out bytes.Buffer
	off := false
	a := New(Config{In: strings.NewReader(""), Out: &out, Color: &off})
	if _, err := a.Send(context.Background(), bot.Conversation{ChannelID: "terminal", Handle: "run deploy"}, adaptertest.MarkdownReply()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Deployed v1.4.2 to production\n=============================", "• ☑ smoke tests (**12/12**)", "  | $ kubectl"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "## Checks") {
		t.Error("the Markdown source was printed")
	}
}

// FuzzRenderMarkdown checks that whatever a job writes, the terminal
// gets valid UTF-8 and, without colour, not one control character but
// newlines and tabs: nothing of the job's can drive the terminal.
func FuzzRenderMarkdown(f *testing.F) {
	f.Add(adaptertest.ChatReplyMD())
	f.Add("a\x1b[2J\x9b31m\r\b`\x07` ```\n\x1b]0;x\x07\n```")
	f.Fuzz(func(t *testing.T, src string) {
		got := renderMarkdown(src, false)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q", got)
		}
		for _, r := range got {
			if unicode.IsControl(r) && r != '\n' && r != '\t' {
				t.Fatalf("control character %U in %q", r, got)
			}
		}
		_ = renderMarkdown(src, true)
	})
}
