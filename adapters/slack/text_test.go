package slack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseText(t *testing.T) {
	tests := []struct {
		name, raw string
		want      string
		mentioned bool
	}{
		{"mention at start", "<@UBOT> run deploy", "run deploy", true},
		{"leading whitespace", "  \n<@UBOT>   help", "help", true},
		{"mention with label", "<@UBOT|chatops> help", "help", true},
		{"mention then colon", "<@UBOT>: run x", "run x", true},
		{"mention elsewhere", "hey <@UBOT> run x", "hey @UBOT run x", false},
		{"other user first", "<@UOTHER> run x", "@UOTHER run x", false},
		{"prefix of another id", "<@UBOTX> run x", "@UBOTX run x", false},
		{"no mention (DM)", "run hello-world", "run hello-world", false},
		{"entities", "<@UBOT> run x a&amp;b &lt;tag&gt;", "run x a&b <tag>", true},
		{"double-escaped stays once", "<@UBOT> echo &amp;lt;", "echo &lt;", true},
		{"user mention arg", "<@UBOT> run greet <@U123>", "run greet @U123", true},
		{"user mention with name", "<@UBOT> run greet <@U123|alice>", "run greet @alice", true},
		{"channel", "<@UBOT> run notify <#C1|general>", "run notify #general", true},
		{"channel without name", "<@UBOT> run notify <#C1>", "run notify #C1", true},
		{"auto link", "<@UBOT> run check <http://example.com|example.com>", "run check example.com", true},
		{"bare link", "<@UBOT> run check <https://example.com/a?b=1&amp;c=2>", "run check https://example.com/a?b=1&c=2", true},
		{"labelled link", "<@UBOT> run check <https://x.io|the docs>", "run check the docs", true},
		{"mailto", "<@UBOT> run mail <mailto:a@b.c|a@b.c>", "run mail a@b.c", true},
		{"here", "<@UBOT> run page <!here>", "run page @here", true},
		{"subteam", "<@UBOT> run page <!subteam^S1|@oncall>", "run page @oncall", true},
		{"unclosed bracket", "<@UBOT> run x <oops", "run x <oops", true},
		{"empty after mention", "<@UBOT>", "", true},
		{"issue ref kept", "<@UBOT> run fix #123", "run fix #123", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, mentioned := parseText(tt.raw, "UBOT")
			if got != tt.want || mentioned != tt.mentioned {
				t.Errorf("parseText(%q) = %q, %v; want %q, %v", tt.raw, got, mentioned, tt.want, tt.mentioned)
			}
		})
	}
}

// FuzzParseText checks the parser never panics, keeps UTF-8 valid, and
// that escaping then unescaping any plain text gives it back.
func FuzzParseText(f *testing.F) {
	for _, s := range []string{
		"<@UBOT> run deploy production --force",
		"  <@UBOT|chatops>: help run",
		"<@UBOT> run x a&amp;b &lt;tag&gt; <#C1|general> <https://x.io|docs> <!here>",
		"<@UBOT",
		"<<>>|<@|>",
		"&amp;amp;&lt;&gt",
		"héllo <@U1|ünï> 🚀",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, mentioned := parseText(raw, "UBOT")
		if utf8.ValidString(raw) && !utf8.ValidString(got) {
			t.Fatalf("parseText(%q) = %q: invalid UTF-8", raw, got)
		}
		if mentioned && !strings.Contains(raw, "<@UBOT") {
			t.Fatalf("parseText(%q) reports a mention that is not there", raw)
		}
		if back := unescapeText(escapeMrkdwn(raw)); back != raw {
			t.Fatalf("unescape(escape(%q)) = %q", raw, back)
		}
	})
}
