package mattermost

import (
	"testing"
)

// BenchmarkMentionRoundTrip measures a user's mention posted on the fake
// server to the bot's reply arriving there: websocket event, parsing, the
// bot runtime, the router and a REST post.
func BenchmarkMentionRoundTrip(b *testing.B) {
	h := newHarness(b, nil)
	h.waitConnected(1)
	for b.Loop() {
		h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo ping", "")
		h.next()
	}
}
