package discord

import "testing"

// BenchmarkMentionRoundTrip measures a mention dispatched on the fake
// gateway to the bot's reply arriving at the fake's REST API: gateway
// event, parsing, the bot runtime, the router and a REST call.
func BenchmarkMentionRoundTrip(b *testing.B) {
	h := newHarness(b, nil)
	h.ready(1)
	for b.Loop() {
		h.mention("c1", "u1", "echo ping")
		h.next()
	}
}
