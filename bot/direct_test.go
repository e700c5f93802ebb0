package bot

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// directAdapter opens direct conversations named "D-<user>", failing the
// first fails opens with failWith, and records where each reply went.
type directAdapter struct {
	*chanAdapter
	fails    int
	failWith error
	opens    int
	to       []Conversation
}

func (a *directAdapter) OpenDirect(_ context.Context, m Message) (Conversation, error) {
	a.opens++
	if a.opens <= a.fails {
		return Conversation{}, a.failWith
	}
	return Conversation{ChannelID: "D-" + m.Sender.ID, Direct: true}, nil
}

func (a *directAdapter) Send(ctx context.Context, to Conversation, r Reply) (Sent, error) {
	a.to = append(a.to, to)
	sent, err := a.chanAdapter.Send(ctx, to, r)
	sent.Conversation = to
	return sent, err
}

func TestDirect(t *testing.T) {
	channel := Message{Platform: "test", Sender: User{ID: "U1"}, Conversation: Conversation{ChannelID: "C1", ThreadID: "t1"}}
	dm := Message{Platform: "test", Sender: User{ID: "U1"}, Conversation: Conversation{ChannelID: "D-U1", Direct: true}}
	transient := errors.New("connection reset")
	refused := Permanent(errors.New("cannot_dm_bot"))
	tests := []struct {
		name      string
		fails     int
		failWith  error
		m         Message
		wantErr   error // nil: a DM reply
		wantOpens int
	}{
		{"opened from a channel", 0, nil, channel, nil, 1},
		{"already direct: nothing opened", 0, nil, dm, nil, 0},
		{"a failed open is retried", 2, transient, channel, nil, 3},
		{"a refusal is not retried", 5, refused, channel, refused, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &directAdapter{chanAdapter: newChanAdapter(), fails: tt.fails, failWith: tt.failWith}
			var w Responder = &responder{adapter: a, to: tt.m.Conversation, retryFor: 5 * time.Second, log: quiet()}
			d, err := Direct(context.Background(), w, tt.m)
			if a.opens != tt.wantOpens {
				t.Errorf("%d opens, want %d", a.opens, tt.wantOpens)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !IsPermanent(err) {
					t.Fatalf("err = %v, want %v (permanent)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sent, err := d.Reply(context.Background(), Reply{Title: "psst"})
			if err != nil {
				t.Fatal(err)
			}
			want := Conversation{ChannelID: "D-U1", Direct: true}
			if len(a.to) != 1 || a.to[0] != want || sent.Conversation != want {
				t.Errorf("the reply went to %+v (Sent %+v), want %+v", a.to, sent.Conversation, want)
			}
			if a.next(t).Title != "psst" {
				t.Error("the reply was not sent")
			}
		})
	}
}

func TestDirectWithoutTheCapability(t *testing.T) {
	channel := Message{Platform: "test", Sender: User{ID: "U1"}, Conversation: Conversation{ChannelID: "C1"}}
	w := &responder{adapter: newChanAdapter(), to: channel.Conversation, retryFor: time.Second, log: quiet()}
	if _, err := Direct(context.Background(), w, channel); !errors.Is(err, ErrNoDirect) {
		t.Errorf("adapter without DirectOpener: err = %v, want ErrNoDirect", err)
	}
	// A Responder that is not the bot's (a test double) cannot open one
	// either, but a direct message needs no opening.
	var other Responder = struct{ Responder }{w}
	if _, err := Direct(context.Background(), other, channel); !errors.Is(err, ErrNoDirect) {
		t.Errorf("foreign Responder: err = %v, want ErrNoDirect", err)
	}
	dm := channel
	dm.Conversation = Conversation{ChannelID: "D1", Direct: true}
	if d, err := Direct(context.Background(), other, dm); err != nil || d != other {
		t.Errorf("direct message: got %v, %v; want the same Responder", d, err)
	}
}

// Whisper on a platform without ephemeral replies but with direct
// conversations (Mattermost) answers in the sender's DM; when the DM
// cannot be opened, in the conversation; a message already in a DM is
// answered there without opening anything.
func TestWhisperFallsBackToDirect(t *testing.T) {
	channel := Message{Platform: "test", Sender: User{ID: "U1"}, Conversation: Conversation{ChannelID: "C1"}}
	dm := Message{Platform: "test", Sender: User{ID: "U1"}, Conversation: Conversation{ChannelID: "D-U1", Direct: true}}
	tests := []struct {
		name      string
		m         Message
		fails     int
		wantTo    string
		wantOpens int
	}{
		{"from a channel: the DM", channel, 0, "D-U1", 1},
		{"DM cannot be opened: the channel", channel, 1, "C1", 1},
		{"from a DM: there", dm, 0, "D-U1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &directAdapter{chanAdapter: newChanAdapter(), fails: tt.fails, failWith: Permanent(errors.New("cannot_dm"))}
			w := &responder{adapter: a, to: tt.m.Conversation, retryFor: time.Second, log: quiet()}
			if err := ReplyPrivately(context.Background(), w, tt.m, Reply{Title: "not yours"}); err != nil {
				t.Fatal(err)
			}
			if a.opens != tt.wantOpens || len(a.to) != 1 || a.to[0].ChannelID != tt.wantTo {
				t.Fatalf("%d opens, replies to %+v; want %d opens and one reply to %s", a.opens, a.to, tt.wantOpens, tt.wantTo)
			}
		})
	}
}

// sometimesWhisperer whispers for messages in channel "S" (a slash
// command's) and answers ErrNoWhisper for the others.
type sometimesWhisperer struct {
	*directAdapter
	whispers []Conversation
	calls    int
}

func (a *sometimesWhisperer) Whisper(_ context.Context, m Message, _ Reply) error {
	a.calls++
	if m.Conversation.ChannelID != "S" {
		return fmt.Errorf("mattermost: %w", ErrNoWhisper)
	}
	a.whispers = append(a.whispers, m.Conversation)
	return nil
}

// An adapter that can whisper only for some messages answers the others
// as an adapter without Whisperer does: in the sender's DM, at once
// (ErrNoWhisper is not retried).
func TestWhisperOnlySometimes(t *testing.T) {
	tests := []struct {
		name         string
		m            Message
		wantWhispers int
		wantTo       string
	}{
		{"can whisper", Message{Sender: User{ID: "U1"}, Conversation: Conversation{ChannelID: "S"}}, 1, ""},
		{"cannot: the DM", Message{Sender: User{ID: "U1"}, Conversation: Conversation{ChannelID: "C1"}}, 0, "D-U1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &sometimesWhisperer{directAdapter: &directAdapter{chanAdapter: newChanAdapter()}}
			w := &responder{adapter: a, to: tt.m.Conversation, retryFor: time.Minute, log: quiet()}
			if err := ReplyPrivately(context.Background(), w, tt.m, Reply{Title: "psst"}); err != nil {
				t.Fatal(err)
			}
			if a.calls != 1 {
				t.Errorf("Whisper called %d times, want once (ErrNoWhisper is not retried)", a.calls)
			}
			if len(a.whispers) != tt.wantWhispers {
				t.Errorf("%d whispers, want %d", len(a.whispers), tt.wantWhispers)
			}
			if tt.wantTo == "" && len(a.to) != 0 || tt.wantTo != "" && (len(a.to) != 1 || a.to[0].ChannelID != tt.wantTo) {
				t.Errorf("replies to %+v, want %q", a.to, tt.wantTo)
			}
		})
	}
}
