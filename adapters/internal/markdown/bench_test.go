package markdown

import (
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot"
)

// BenchmarkRenderAdversarial renders, for Mattermost (the largest post),
// a 64 KiB reply file (the most a reply file may be) of the constructs
// that cost most: nesting renderers prefix line by line, and input the
// parser matches superlinearly.
func BenchmarkRenderAdversarial(b *testing.B) {
	const size = 64 << 10
	inputs := []struct{ name, src string }{
		{"nested-lists", strings.Repeat("- ", size/2-1) + "x"},
		{"nested-quotes", strings.Repeat(">", size)},
		{"unclosed-links", strings.Repeat("[a](", size/4)},
		{"unmatched-emphasis", strings.Repeat("_a", size/2)},
	}
	o := Options{Limit: 16383, Tables: true, Rules: true, DefuseMentions: true, Self: "chatops"}
	for _, in := range inputs {
		r := bot.Reply{Status: bot.StatusSuccess, Title: "report succeeded", Markdown: in.src}
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				RenderWith(r, o)
			}
		})
	}
}
