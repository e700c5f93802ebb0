package commands

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
)

// recorder is a bot.Responder that keeps replies.
type recorder struct {
	mu      sync.Mutex
	replies []bot.Reply
}

func (r *recorder) Reply(_ context.Context, rep bot.Reply) (bot.Sent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replies = append(r.replies, rep)
	return bot.Sent{ID: "1"}, nil
}

func (r *recorder) Update(ctx context.Context, _ bot.Sent, rep bot.Reply) (bot.Sent, error) {
	return r.Reply(ctx, rep)
}

func (r *recorder) only(t *testing.T) bot.Reply {
	t.Helper()
	if len(r.replies) != 1 {
		t.Fatalf("want exactly one reply, got %d: %+v", len(r.replies), r.replies)
	}
	return r.replies[0]
}

func newTestRouter(t *testing.T) (*Router, *[]*Request) {
	t.Helper()
	rt := NewRouter("chatops")
	var got []*Request
	rt.MustHandle(Command{Name: "run", Aliases: []string{"r"}, Usage: "<job> [arguments...]", Summary: "Run a CI job",
		Examples: []string{"run deploy production"},
		Handler: HandlerFunc(func(ctx context.Context, w bot.Responder, r *Request) error {
			got = append(got, r)
			if _, err := r.Args(); err != nil {
				return err
			}
			_, err := w.Reply(ctx, bot.Reply{Title: "ran " + r.RawArgs})
			return err
		})})
	rt.MustHandle(Command{Name: "deploy", Summary: "Deploy", Handler: HandlerFunc(func(context.Context, bot.Responder, *Request) error {
		return Errorf("Deploys are frozen", "Ask in #ops to lift the freeze.")
	})})
	rt.MustHandle(Command{Name: "boom", Summary: "Fail", Handler: HandlerFunc(func(context.Context, bot.Responder, *Request) error {
		return errors.New("gitlab is down")
	})})
	return rt, &got
}

func TestDispatchPassesRawArgsAndMessage(t *testing.T) {
	rt, got := newTestRouter(t)
	msg := bot.Message{Platform: "slack", Sender: bot.User{ID: "U1"}, Text: "R fix #123 \"a b\"\nsecond line", Addressed: true}
	w := &recorder{}
	if err := rt.Dispatch(context.Background(), w, msg); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 1 {
		t.Fatalf("handler called %d times", len(*got))
	}
	r := (*got)[0]
	if r.Command != "run" || r.Invoked != "r" || r.RawArgs != "fix #123 \"a b\"\nsecond line" || r.Message.Sender.ID != "U1" {
		t.Fatalf("request = %+v", r)
	}
	args, _ := r.Args()
	if strings.Join(args, "|") != "fix|#123|a b|second|line" {
		t.Fatalf("args = %q", args)
	}
}

func TestDispatchErrorsBecomeReplies(t *testing.T) {
	tests := []struct {
		text       string
		wantTitle  string
		wantInText string
	}{
		{"runn deploy", `Unknown command "runn"`, "Did you mean run?"},
		{"xyzzy", `Unknown command "xyzzy"`, "Type help"},
		{"run say \"hi", "Could not read the arguments of run", "Usage: run <job> [arguments...]"},
		{"deploy", "Deploys are frozen", "Ask in #ops"},
		{"boom", "boom failed", "Gitlab is down"},
		{"", "Hi! I am chatops", "help"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			rt, _ := newTestRouter(t)
			w := &recorder{}
			_ = rt.Dispatch(context.Background(), w, bot.Message{Text: tt.text, Addressed: true})
			rep := w.only(t)
			if rep.Title != tt.wantTitle || !strings.Contains(rep.Text, tt.wantInText) {
				t.Fatalf("reply = %q / %q, want title %q containing %q", rep.Title, rep.Text, tt.wantTitle, tt.wantInText)
			}
			if tt.text != "" && rep.Status != bot.StatusError {
				t.Fatalf("status = %v, want error", rep.Status)
			}
		})
	}
}

func TestMiddlewareOrder(t *testing.T) {
	rt, _ := newTestRouter(t)
	var order []string
	mw := func(name string) Middleware {
		return func(next Handler) Handler {
			return HandlerFunc(func(ctx context.Context, w bot.Responder, r *Request) error {
				order = append(order, name+">")
				err := next.ServeCommand(ctx, w, r)
				order = append(order, "<"+name)
				return err
			})
		}
	}
	rt.Use(mw("outer"))
	rt.Use(mw("inner"))
	if err := rt.Dispatch(context.Background(), &recorder{}, bot.Message{Text: "run x"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, " "); got != "outer> inner> <inner <outer" {
		t.Fatalf("order = %s", got)
	}
}

func TestMiddlewareCanRefuse(t *testing.T) {
	rt, got := newTestRouter(t)
	rt.Use(func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, w bot.Responder, r *Request) error {
			if r.Message.Sender.ID != "admin" {
				return Errorf("You may not run "+r.Command, "Ask an admin.")
			}
			return next.ServeCommand(ctx, w, r)
		})
	})
	w := &recorder{}
	_ = rt.Dispatch(context.Background(), w, bot.Message{Text: "run x", Sender: bot.User{ID: "eve"}})
	if len(*got) != 0 || w.only(t).Title != "You may not run run" {
		t.Fatalf("refusal did not stop the handler: calls=%d replies=%+v", len(*got), w.replies)
	}
}

func TestHandleRejectsDuplicatesAndBadNames(t *testing.T) {
	rt, _ := newTestRouter(t)
	h := HandlerFunc(func(context.Context, bot.Responder, *Request) error { return nil })
	for _, c := range []Command{
		{Name: "RUN", Handler: h},
		{Name: "other", Aliases: []string{"r"}, Handler: h},
		{Name: "two words", Handler: h},
		{Name: "", Handler: h},
		{Name: "nohandler"},
	} {
		if err := rt.Handle(c); err == nil {
			t.Errorf("Handle(%q) accepted", c.Name)
		}
	}
}

func TestHelpGolden(t *testing.T) {
	rt, _ := newTestRouter(t)
	for _, tt := range []struct{ text, golden string }{
		{"help", "help.txt"},
		{"help run", "help_run.txt"},
		{"HELP r", "help_run.txt"},
		{"help nosuch", "help_unknown.txt"},
	} {
		w := &recorder{}
		if err := rt.Dispatch(context.Background(), w, bot.Message{Text: tt.text}); err != nil {
			t.Fatal(err)
		}
		golden(t, tt.golden, w.only(t).Plain())
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	bottest.Golden(t, path, got)
}

// BenchmarkRouterDispatch measures a message going from the router's entry
// to the handler being called with parsed and tokenised arguments.
func BenchmarkRouterDispatch(b *testing.B) {
	rt := NewRouter("chatops")
	for _, n := range []string{"run", "deploy", "status", "rollback", "logs", "scale", "ping", "version"} {
		rt.MustHandle(Command{Name: n, Handler: HandlerFunc(func(_ context.Context, _ bot.Responder, r *Request) error {
			_, err := r.Args()
			return err
		})})
	}
	msg := bot.Message{Platform: "slack", Text: `run deploy production --force "release #42"`, Addressed: true}
	w := &recorder{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := rt.Dispatch(ctx, w, msg); err != nil {
			b.Fatal(err)
		}
	}
}
