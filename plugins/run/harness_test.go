package run_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/plugins/run"
)

// chat is an in-memory adapter with edits: each channel's messages are
// kept as they are now, so a test reads what a user would see.
type chat struct {
	in     chan bot.Message
	mu     sync.Mutex
	msgs   map[string]bot.Reply   // by message id
	order  map[string][]string    // channel -> message ids
	events map[string]chan string // channel -> message id sent or edited
	nextID int
}

func newChat() *chat {
	return &chat{in: make(chan bot.Message), msgs: map[string]bot.Reply{}, order: map[string][]string{}, events: map[string]chan string{}}
}

func (c *chat) Name() string { return "test" }

func (c *chat) Run(ctx context.Context, deliver func(bot.Message)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-c.in:
			deliver(m)
		}
	}
}

func (c *chat) channel(id string) chan string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.events[id]
	if !ok {
		ch = make(chan string, 100)
		c.events[id] = ch
	}
	return ch
}

func (c *chat) Send(_ context.Context, to bot.Conversation, r bot.Reply) (bot.Sent, error) {
	c.mu.Lock()
	c.nextID++
	id := fmt.Sprint(c.nextID)
	c.msgs[id] = r
	c.order[to.ChannelID] = append(c.order[to.ChannelID], id)
	c.mu.Unlock()
	c.channel(to.ChannelID) <- id
	return bot.Sent{Conversation: to, ID: id}, nil
}

func (c *chat) Edit(_ context.Context, ref bot.Sent, r bot.Reply) (bot.Sent, error) {
	c.mu.Lock()
	c.msgs[ref.ID] = r
	c.mu.Unlock()
	c.channel(ref.Conversation.ChannelID) <- ref.ID
	return ref, nil
}

// final waits until a message in channel shows a status other than
// "working" and returns it with how many messages the channel holds.
func (c *chat) final(t *testing.T, channel string) (bot.Reply, int) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case id := <-c.channel(channel):
			c.mu.Lock()
			r, n := c.msgs[id], len(c.order[channel])
			c.mu.Unlock()
			if r.Status != bot.StatusWorking {
				return r, n
			}
		case <-timeout:
			t.Fatalf("no final reply in channel %s", channel)
		}
	}
}

type env struct {
	t    *testing.T
	gl   *gitlabtest.Server
	chat *chat
	cfg  gitlab.Config
}

const testCI = `
hello-world:
  rules:
    - if: $CHATOPS_JOB == "hello-world"
  script:
    - echo "Hello World"
greet:
  rules:
    - if: $CHATOPS_JOB == "greet"
  script:
    - printf '%s' "$CHAT_INPUT" > input.txt
    - echo -e "section_start:1:chat_reply\r\033[0K\n[$CHAT_INPUT] by $CHAT_USER_ID in $CHAT_CHANNEL\nsection_end:1:chat_reply\r\033[0K"
fail:
  rules:
    - if: $CHATOPS_JOB == "fail"
  script:
    - echo "about to fail"
    - exit 3
slow:
  rules:
    - if: $CHATOPS_JOB == "slow"
  script:
    - echo "slow start"
deploy:
  rules:
    - if: $CHATOPS_JOB == "deploy"
      when: manual
  script:
    - echo "deployed"
quiet:
  rules:
    - if: $CHATOPS_JOB == "quiet"
  script:
    - "true"
norule:
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
  script:
    - echo "never from chat"
.hidden:
  script:
    - echo "template"
secret:
  only: [schedules]
  except: [chat]
  script:
    - echo "no"
`

// newEnv starts the fake GitLab and a bot with the run plugin. tweak may
// change the service's config before it starts.
func newEnv(t *testing.T, tweak func(*gitlab.Config)) *env {
	t.Helper()
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: testCI})
	t.Cleanup(fake.Close)
	fake.AddUser("alice", gitlabtest.Developer)
	fake.AddUser("rita", gitlabtest.Reporter)
	fake.AddUser("olga", 0)
	fake.AddUser("bob", gitlabtest.Maintainer)
	fake.BlockUser("bob")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := gitlab.Config{
		URL: fake.URL(), Token: fake.Token, Project: fake.ProjectPath, PlayManual: true,
		PollInterval: 20 * time.Millisecond, ReplyTimeout: 10 * time.Second, ExtractWait: 300 * time.Millisecond,
		RetryBackoff: 5 * time.Millisecond, Logger: quiet,
		Identities: map[string]string{"test:U-alice": "alice", "test:U-rita": "rita", "test:U-olga": "olga", "test:U-bob": "bob", "test:U-ghost": "ghost"},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	svc, err := gitlab.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt := commands.NewRouter("chatops")
	if err := rt.Add(run.New(svc)); err != nil {
		t.Fatal(err)
	}
	c := newChat()
	b := bot.New(rt, bot.Options{Logger: quiet, Workers: 32}, c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &env{t: t, gl: fake, chat: c, cfg: cfg}
}

// say posts text as user in channel and returns the final reply.
func (e *env) say(user, channel, text string) (bot.Reply, int) {
	e.t.Helper()
	e.chat.in <- bot.Message{Platform: "test", Text: text, Addressed: true,
		Sender: bot.User{ID: user}, Conversation: bot.Conversation{ChannelID: channel}}
	return e.chat.final(e.t, channel)
}
