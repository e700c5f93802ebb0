// Package bottest runs the real bot in tests: Chat is an in-memory
// adapter that records what a user would see (messages as they are now,
// edits applied), and Start runs a bot over it until the test ends.
// Written once, imported by every package that tests through the bot.
package bottest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
)

// Chat is an in-memory adapter that can edit its messages and open
// direct conversations (DirectChannel). Each channel's messages are kept
// as they are now, so a test reads what a user would see. It is safe for
// concurrent use.
type Chat struct {
	name string
	in   chan bot.Message

	mu       sync.Mutex
	msgs     map[string]bot.Reply   // by message id
	threads  map[string]string      // message id -> the thread it was posted in
	asked    int                    // messages delivered by Ask
	order    map[string][]string    // channel -> message ids, in posting order
	events   map[string]chan string // channel -> ids sent or edited
	edits    int
	nextID   int
	failing  int              // the next n sends and edits fail
	noDirect error            // what OpenDirect fails with, nil when it opens
	opened   int              // direct conversations opened
	refused  map[string]error // channel -> what sends and edits there fail with
}

// NewChat returns a Chat whose platform name is name.
func NewChat(name string) *Chat {
	return &Chat{name: name, in: make(chan bot.Message), msgs: map[string]bot.Reply{}, threads: map[string]string{}, order: map[string][]string{}, events: map[string]chan string{}}
}

// Name implements bot.Adapter.
func (c *Chat) Name() string { return c.name }

// Run implements bot.Adapter: it delivers what Say sends until ctx ends.
func (c *Chat) Run(ctx context.Context, deliver func(bot.Message)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-c.in:
			deliver(m)
		}
	}
}

// Say delivers a message addressed to the bot from user in channel.
func (c *Chat) Say(user, channel, text string) {
	c.Deliver(bot.Message{Platform: c.name, Text: text, Addressed: true,
		Sender: bot.User{ID: user}, Conversation: bot.Conversation{ChannelID: channel}})
}

// Ask delivers text from user in channel as the root of a thread of its
// own, and returns the thread's id. Replies to it carry that id, so
// FinalIn reads this message's answer and never a late reply to an
// earlier one (a canceled run's edit, a command's acknowledgement).
func (c *Chat) Ask(user, channel, text string) string {
	c.mu.Lock()
	c.asked++
	thread := fmt.Sprintf("ask-%d", c.asked)
	c.mu.Unlock()
	c.Deliver(bot.Message{Platform: c.name, Text: text, Addressed: true, ID: thread,
		Sender: bot.User{ID: user}, Conversation: bot.Conversation{ChannelID: channel, ThreadID: thread}})
	return thread
}

// Deliver hands m to the bot as if it had been received.
func (c *Chat) Deliver(m bot.Message) { c.in <- m }

func (c *Chat) channel(id string) chan string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.events[id]
	if !ok {
		ch = make(chan string, 4096)
		c.events[id] = ch
	}
	return ch
}

// FailNext makes the next n sends or edits fail with a retryable error,
// as a platform having a bad minute would.
func (c *Chat) FailNext(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failing = n
}

// Refuse makes every send and edit in channel fail with err, as a
// platform refuses a channel the bot may not post in (wrap err with
// bot.Permanent so the bot does not retry); nil lifts it.
func (c *Chat) Refuse(channel string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refused == nil {
		c.refused = map[string]error{}
	}
	c.refused[channel] = err
}

func (c *Chat) fail(channel string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refused[channel]; err != nil {
		return err
	}
	if c.failing > 0 {
		c.failing--
		return fmt.Errorf("%s: the platform is unavailable (injected)", c.name)
	}
	return nil
}

// Send implements bot.Adapter.
func (c *Chat) Send(_ context.Context, to bot.Conversation, r bot.Reply) (bot.Sent, error) {
	if err := c.fail(to.ChannelID); err != nil {
		return bot.Sent{}, err
	}
	c.mu.Lock()
	c.nextID++
	id := fmt.Sprint(c.nextID)
	c.msgs[id] = r
	c.threads[id] = to.ThreadID
	c.order[to.ChannelID] = append(c.order[to.ChannelID], id)
	c.mu.Unlock()
	c.channel(to.ChannelID) <- id
	return bot.Sent{Conversation: to, ID: id}, nil
}

// Edit implements bot.Editor.
func (c *Chat) Edit(_ context.Context, ref bot.Sent, r bot.Reply) (bot.Sent, error) {
	if err := c.fail(ref.Conversation.ChannelID); err != nil {
		return bot.Sent{}, err
	}
	c.mu.Lock()
	if _, ok := c.msgs[ref.ID]; !ok {
		c.mu.Unlock()
		return bot.Sent{}, bot.Permanent(fmt.Errorf("%s: message %s not found", c.name, ref.ID))
	}
	c.msgs[ref.ID] = r
	c.edits++
	c.mu.Unlock()
	c.channel(ref.Conversation.ChannelID) <- ref.ID
	return ref, nil
}

// DirectChannel is the channel of a Chat's direct conversation with
// the user whose id is user.
func DirectChannel(user string) string { return "D-" + user }

// OpenDirect implements bot.DirectOpener: the direct conversation with
// m's sender is the channel DirectChannel(m.Sender.ID).
func (c *Chat) OpenDirect(_ context.Context, m bot.Message) (bot.Conversation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noDirect != nil {
		return bot.Conversation{}, c.noDirect
	}
	c.opened++
	return bot.Conversation{ChannelID: DirectChannel(m.Sender.ID), Direct: true}, nil
}

// RefuseDirect makes OpenDirect fail with err, as a platform refuses a
// user the bot may not write to (wrap err with bot.Permanent so the bot
// does not retry); nil lets it open again.
func (c *Chat) RefuseDirect(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noDirect = err
}

// DirectOpened returns how many direct conversations OpenDirect opened.
func (c *Chat) DirectOpened() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened
}

// Messages returns the channel's messages as they are now, in posting
// order.
func (c *Chat) Messages(channel string) []bot.Reply {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []bot.Reply
	for _, id := range c.order[channel] {
		out = append(out, c.msgs[id])
	}
	return out
}

// Final waits until a message in channel shows a status other than
// "working" and returns it with how many messages the channel holds.
func (c *Chat) Final(t testing.TB, channel string) (bot.Reply, int) {
	t.Helper()
	r, n, ok := c.WaitFinal(channel, 20*time.Second)
	if !ok {
		t.Fatalf("no final reply in channel %s", channel)
	}
	return r, n
}

// WaitFinal is Final that reports a timeout instead of failing the test.
func (c *Chat) WaitFinal(channel string, timeout time.Duration) (bot.Reply, int, bool) {
	r, ok := c.WaitFor(channel, func(r bot.Reply) bool { return r.Status != bot.StatusWorking }, timeout)
	c.mu.Lock()
	n := len(c.order[channel])
	c.mu.Unlock()
	return r, n, ok
}

// FinalIn is Final for the replies in one thread of channel (the one
// Ask returned).
func (c *Chat) FinalIn(t testing.TB, channel, thread string) (bot.Reply, int) {
	t.Helper()
	r, ok := c.waitFor(channel, func(r bot.Reply, in string) bool {
		return in == thread && r.Status != bot.StatusWorking
	}, 20*time.Second)
	if !ok {
		t.Fatalf("no final reply in thread %s of channel %s: %+v", thread, channel, c.Messages(channel))
	}
	c.mu.Lock()
	n := len(c.order[channel])
	c.mu.Unlock()
	return r, n
}

// WaitFor waits until a message posted or edited in channel satisfies ok,
// and returns it.
func (c *Chat) WaitFor(channel string, ok func(bot.Reply) bool, timeout time.Duration) (bot.Reply, bool) {
	return c.waitFor(channel, func(r bot.Reply, _ string) bool { return ok(r) }, timeout)
}

// waitFor is WaitFor whose ok also sees the thread the message is in.
func (c *Chat) waitFor(channel string, ok func(r bot.Reply, thread string) bool, timeout time.Duration) (bot.Reply, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case id := <-c.channel(channel):
			c.mu.Lock()
			r, thread := c.msgs[id], c.threads[id]
			c.mu.Unlock()
			if ok(r, thread) {
				return r, true
			}
		case <-deadline:
			return bot.Reply{}, false
		}
	}
}

// Quiet is a logger that discards everything, for tests.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Start runs a bot serving h on the adapters until the test ends, and
// returns it. opts.Logger defaults to Quiet().
func Start(t testing.TB, h bot.Handler, opts bot.Options, adapters ...bot.Adapter) *bot.Bot {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = Quiet()
	}
	b := bot.New(h, opts, adapters...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return b
}

// Buffer is a bytes.Buffer that a logger (or a process's output) and a
// test may use at once.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
