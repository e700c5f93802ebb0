package ping

import (
	"context"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

type recorder struct{ replies []bot.Reply }

func (r *recorder) Reply(_ context.Context, rep bot.Reply) (bot.Sent, error) {
	r.replies = append(r.replies, rep)
	return bot.Sent{}, nil
}

func (r *recorder) Update(ctx context.Context, _ bot.Sent, rep bot.Reply) (bot.Sent, error) {
	return r.Reply(ctx, rep)
}

func TestPingAndVersion(t *testing.T) {
	p := New("v1.2.3")
	received := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return received.Add(1500 * time.Microsecond) }
	rt := commands.NewRouter("chatops")
	if err := rt.Add(p); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text, title, field string
	}{
		{"ping", "pong", "1.5ms"},
		{"VERSION", "chatops v1.2.3", ""},
	}
	for _, tt := range tests {
		w := &recorder{}
		err := rt.Dispatch(context.Background(), w, bot.Message{Text: tt.text, Addressed: true, Received: received})
		if err != nil {
			t.Fatalf("%s: %v", tt.text, err)
		}
		if len(w.replies) != 1 || w.replies[0].Title != tt.title {
			t.Fatalf("%s: replies %+v", tt.text, w.replies)
		}
		if tt.field != "" && (len(w.replies[0].Fields) != 1 || w.replies[0].Fields[0].Value != tt.field) {
			t.Fatalf("%s: fields %+v", tt.text, w.replies[0].Fields)
		}
	}
}
