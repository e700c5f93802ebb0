package slack

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkMentionRoundTrip measures a channel mention to the bot's reply
// being accepted by the fake: envelopes over the websocket, acks, event
// translation, de-duplication of the message/app_mention pair, the router,
// Block Kit rendering and chat.postMessage over HTTP, all on loopback.
func BenchmarkMentionRoundTrip(b *testing.B) {
	h := newHarness(b, harnessOpts{quiet: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Warm up the connection pools.
	h.fake.Mention("C1", "U1", "echo warm")
	if _, err := h.fake.NextPost(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		h.fake.Mention("C1", "U1", "echo ping")
		if _, err := h.fake.NextPost(ctx); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkRenderBigReply measures rendering a reply far over Slack's
// limits (cutting, escaping and splitting it into blocks).
func BenchmarkRenderBigReply(b *testing.B) {
	r := bigReply()
	b.SetBytes(int64(len(r.Text) + len(r.Code)))
	b.ReportAllocs()
	for b.Loop() {
		render(r)
	}
}
