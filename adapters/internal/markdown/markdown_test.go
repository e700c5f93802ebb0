package markdown

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatops-dev/chatops/bot"
)

func TestRenderFitsAndKeepsTheTail(t *testing.T) {
	code := strings.Repeat("a line of output\n", 500) + "LAST"
	for _, limit := range []int{300, 2000, 16383} {
		got := Render(bot.Reply{Status: bot.StatusSuccess, Title: "job", Text: strings.Repeat("prose ", 100), Code: code}, limit)
		if n := utf8.RuneCountInString(got); n > limit {
			t.Fatalf("limit %d: %d runes", limit, n)
		}
		if !strings.Contains(got, "LAST") {
			t.Fatalf("limit %d: tail lost:\n%s", limit, got)
		}
	}
}

func TestFenceLongerThanBackticksInCode(t *testing.T) {
	got := Render(bot.Reply{Code: "x ```` y"}, 2000)
	if !strings.HasPrefix(got, "`````\n") {
		t.Fatalf("fence: %q", got)
	}
}

func FuzzRender(f *testing.F) {
	f.Add("title", "text", "code ```", 2000)
	f.Add(strings.Repeat("t", 3000), "", "", 300)
	f.Fuzz(func(t *testing.T, title, text, code string, limit int) {
		limit = 300 + abs(limit)%20000
		got := Render(bot.Reply{Title: title, Text: text, Code: code, Links: []bot.Link{{Label: "Job", URL: "https://x/y"}}}, limit)
		if n := utf8.RuneCountInString(got); n > limit {
			t.Fatalf("%d runes over %d", n, limit)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func TestHeadingLevel(t *testing.T) {
	r := bot.Reply{Status: bot.StatusSuccess, Title: "done"}
	if got := Render(r, 2000); !strings.HasPrefix(got, "#### ") {
		t.Errorf("default (Mattermost) title %q, want a level 4 heading", got)
	}
	if got := RenderWith(r, Options{Limit: 2000, Heading: 3}); !strings.HasPrefix(got, "### ") {
		t.Errorf("level 3 title %q", got)
	}
}

// The bot's own text on a platform that notifies from text (Mattermost):
// no @ starting a word notifies anyone, whatever a user, a job or GitLab
// put in a title, text, field or link label, but the bot's own name stays
// (help's "@chatops run …" is copied by users), and so does an @ inside a
// word ("deploy@main").
func TestFrameDefusesMentions(t *testing.T) {
	r := bot.Reply{Title: "greet @channel", Text: "hi @here and @ALL, ask @chatops; @allison, deploy@main",
		Fields: []bot.Field{{Name: "Args", Value: "@all"}}, Links: []bot.Link{{Label: "@bob", URL: "https://x.io/@bob"}}}
	got := RenderWith(r, Options{Limit: 4000, DefuseMentions: true, Self: "chatops"})
	for _, want := range []string{"@\u200dchannel", "@\u200dhere", "@\u200dALL", "ask @chatops;", "@\u200dallison", "deploy@main",
		"**Args:** @\u200dall", "[@\u200dbob](https://x.io/@bob)"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q missing in:\n%s", want, got)
		}
	}
	if plain := RenderWith(r, Options{Limit: 4000}); strings.Contains(plain, zwj) {
		t.Errorf("defused without DefuseMentions:\n%s", plain)
	}
}

func TestDefuseMentions(t *testing.T) {
	const z = zwj
	for _, tt := range []struct{ in, want string }{
		{"@alice", "@" + z + "alice"},
		{"deploy@main a@b.io", "deploy@main a@b.io"},
		{"x.@all _@here (@bob) -@c", "x.@" + z + "all _@" + z + "here (@" + z + "bob) -@" + z + "c"},
		{"@chatops help", "@chatops help"},
		{"@ChatOps: run", "@ChatOps: run"},
		{"ask @chatops.", "ask @chatops."},
		{"@chatops_admins @chatops.ops @chatops-x @chatopsy", "@" + z + "chatops_admins @" + z + "chatops.ops @" + z + "chatops-x @" + z + "chatopsy"},
		{"@@chatops", "@" + z + "@chatops"},
		{"é@x 1@x", "é@x 1@x"},
		{"no at", "no at"},
	} {
		if got := defuseMentions(tt.in, "chatops"); got != tt.want {
			t.Errorf("defuseMentions(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := defuseMentions("@chatops", ""); got != "@"+zwj+"chatops" {
		t.Errorf("without a self name: %q", got)
	}
}
