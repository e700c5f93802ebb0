package shell

import (
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/plugins/run"
	"github.com/chatops-dev/chatops/plugins/run/policy"
)

// screen is the terminal's output, telling waiters about every write.
type screen struct {
	mu      sync.Mutex
	text    strings.Builder
	changed chan struct{}
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.text.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

// wait returns the output once match finds something in it.
func (s *screen) wait(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		m := re.FindStringSubmatch(s.text.String())
		ch, out := s.changed, s.text.String()
		s.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %s in the terminal:\n%s", re, out)
		}
	}
}

// TestConfirmTyped: on the terminal, which has no buttons, a job with
// confirm = true shows `confirm <code>`, and typing it runs the job.
func TestConfirmTyped(t *testing.T) {
	demo, plugin := adaptertest.DemoRunWith(t, "shell:ada", func(o *run.Options) {
		o.Policy = policy.Set{Global: map[string]policy.Rule{"hello-world": {Confirm: true}}}
	})
	rt := commands.NewRouter("chatops")
	if err := rt.Add(plugin); err != nil {
		t.Fatal(err)
	}
	in, typed := io.Pipe()
	out := &screen{changed: make(chan struct{})}
	off := false
	a := New(Config{User: "ada", In: in, Out: out, Prompt: &off, Color: &off})
	b := bot.New(rt, bot.Options{Logger: bottest.Quiet()}, a)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { typed.Close(); cancel(); <-done })

	if _, err := io.WriteString(typed, "run hello-world\n"); err != nil {
		t.Fatal(err)
	}
	code := out.wait(t, regexp.MustCompile(`type: confirm ([A-Z0-9]{8})`))[1]
	if n := len(demo.Pipelines()); n != 0 {
		t.Fatalf("%d pipelines before the confirmation", n)
	}
	if _, err := io.WriteString(typed, "confirm "+code+"\n"); err != nil {
		t.Fatal(err)
	}
	out.wait(t, regexp.MustCompile(`Hello World`))
	if n := len(demo.Pipelines()); n != 1 {
		t.Fatalf("%d pipelines after the confirmation, want 1", n)
	}
}
