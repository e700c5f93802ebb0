package shell

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
)

// runUntilEOF runs a over input, answering every message with reply, and
// returns what the terminal shows.
func runUntilEOF(t *testing.T, input string, prompt bool, reply func(a *Adapter, m bot.Message)) string {
	t.Helper()
	off := false
	out := &bottest.Buffer{}
	a := New(Config{User: "ada", In: strings.NewReader(input), Out: out, Prompt: &prompt, Color: &off})
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background(), func(m bot.Message) { reply(a, m) }) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end at EOF")
	}
	return out.String()
}

func TestPromptComesAfterTheReplyNeverGlued(t *testing.T) {
	out := runUntilEOF(t, "ping\nping\n", true, func(a *Adapter, m bot.Message) {
		_, _ = a.Send(context.Background(), m.Conversation, bot.Reply{Title: "pong"})
	})
	// On a terminal the typed line's echo ends each "> " line; the
	// prompt comes back only after the reply.
	want := "> » ping\nℹ️ pong\n> » ping\nℹ️ pong\n> \n"
	if out != want {
		t.Fatalf("terminal shows\n%q\nwant\n%q", out, want)
	}
}

func TestLogLinesLeaveThePromptLine(t *testing.T) {
	on, off := true, false
	var out bottest.Buffer
	a := New(Config{In: strings.NewReader(""), Out: &out, Prompt: &on, Color: &off})
	a.showPrompt()
	if _, err := io.WriteString(a.LogWriter(&out), "level=WARN msg=x\n"); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "> \nlevel=WARN msg=x\n> "; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestTooLongLineIsRefusedNotFatal(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	var got []string
	out := runUntilEOF(t, long+"\nping\n"+long, false, func(a *Adapter, m bot.Message) { got = append(got, m.Text) })
	if len(got) != 1 || got[0] != "ping" {
		t.Fatalf("delivered %d messages (%.20q), want only ping", len(got), got)
	}
	if n := strings.Count(out, "Line too long"); n != 2 {
		t.Fatalf("%d refusals, want 2:\n%.300s", n, out)
	}
}

func TestProgressIsOneLine(t *testing.T) {
	var out bytes.Buffer
	off := false
	a := New(Config{In: strings.NewReader(""), Out: &out, Color: &off})
	to := bot.Conversation{Handle: "run deploy"}
	_, _ = a.Send(context.Background(), to, bot.Reply{Status: bot.StatusWorking, Title: "deploy is running",
		Fields: []bot.Field{{Name: "Job", Value: "deploy"}, {Name: "Pipeline", Value: "#7"}}, Links: []bot.Link{{URL: "http://x/p/7"}}})
	if got, want := out.String(), "» run deploy  ⏳ deploy is running (pipeline #7)\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
