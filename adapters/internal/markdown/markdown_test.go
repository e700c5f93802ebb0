package markdown

import (
	"regexp"
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
// @channel, @all and @here never notify a channel, whatever a user or a
// job put in a title, text or field; other @names stay as written (help's
// "@chatops run …" is copied by users).
func TestFrameDefusesMassMentions(t *testing.T) {
	r := bot.Reply{Title: "greet @channel", Text: "hi @here and @ALL, ask @chatops; @allison stays",
		Fields: []bot.Field{{Name: "Args", Value: "@all"}}}
	got := RenderWith(r, Options{Limit: 4000, DefuseMentions: true})
	if m := regexp.MustCompile(`(?i)@(channel|here|all)\b`).FindString(got); m != "" {
		t.Errorf("%s left as a mention in:\n%s", m, got)
	}
	for _, keep := range []string{"@chatops", "@allison", "@\u200dchannel"} {
		if !strings.Contains(got, keep) {
			t.Errorf("%q missing in:\n%s", keep, got)
		}
	}
	if plain := RenderWith(r, Options{Limit: 4000}); !strings.Contains(plain, "@channel") {
		t.Errorf("defused without DefuseMentions:\n%s", plain)
	}
}
