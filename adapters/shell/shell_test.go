package shell

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
)

func TestRunDeliversLinesAndEndsAtEOF(t *testing.T) {
	off := false
	a := New(Config{User: "ada", In: strings.NewReader("help\n\n   \nrun x \"a b\"\r\n"), Out: &bytes.Buffer{}, Prompt: &off, Color: &off})
	var got []bot.Message
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background(), func(m bot.Message) { got = append(got, m) }) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end at EOF")
	}
	if len(got) != 2 {
		t.Fatalf("got %d messages, want 2 (blank lines skipped): %+v", len(got), got)
	}
	m := got[1]
	if m.Text != `run x "a b"` || m.Platform != "shell" || m.Sender.ID != "ada" || !m.Addressed || !m.Conversation.Direct {
		t.Fatalf("message = %+v", m)
	}
	if m.Identity() != "shell:ada" {
		t.Fatalf("identity = %q", m.Identity())
	}
}

func TestSendRendersPlainOrColoured(t *testing.T) {
	r := bot.Reply{Status: bot.StatusFailure, Title: "deploy failed", Code: "line 1\nline 2", Links: []bot.Link{{Label: "Job", URL: "https://gitlab.example.com/j/1"}}}
	for _, color := range []bool{false, true} {
		var out bytes.Buffer
		a := New(Config{In: strings.NewReader(""), Out: &out, Color: &color})
		to := bot.Conversation{ChannelID: "terminal", Direct: true, Handle: "run deploy\nmore"}
		sent, err := a.Send(context.Background(), to, r)
		if err != nil {
			t.Fatal(err)
		}
		if sent.Conversation != to || sent.ID == "" {
			t.Errorf("Sent = %+v, want the conversation it went to and an id", sent)
		}
		s := out.String()
		for _, w := range []string{"» run deploy …", "deploy failed", "  | line 2", "Job: https://gitlab.example.com/j/1"} {
			if !strings.Contains(s, w) {
				t.Errorf("color=%v: output lacks %q:\n%s", color, w, s)
			}
		}
		if hasANSI := strings.Contains(s, "\x1b["); hasANSI != color {
			t.Errorf("color=%v but ANSI present=%v: %q", color, hasANSI, s)
		}
	}
}
