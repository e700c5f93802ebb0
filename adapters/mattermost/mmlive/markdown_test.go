package mmlive

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
	"github.com/chatops-dev/chatops/bot"
)

// TestMarkdownReplyNotifiesNobody posts, through the adapter, a job's
// Markdown that names the user, @channel, @all and @here, and a reply
// whose title, text and fields name them (as an issue card names its
// assignee), and asks the real server whether anyone was mentioned: the
// user's mention count in the channel. A control post the bot makes
// without the adapter, naming the user, shows the count moves; one after
// the replies marks when the server has handled them.
func TestMarkdownReplyNotifiesNobody(t *testing.T) {
	l := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	me, _, err := l.user.GetMe(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		t.Helper()
		m, _, err := l.user.GetChannelMember(ctx, l.channelID, l.userID, "")
		if err != nil {
			t.Fatal(err)
		}
		return m.MentionCount
	}
	to := bot.Conversation{ChannelID: l.channelID}
	raw := model.NewAPIv4Client(l.url)
	raw.SetToken(l.botToken)
	control := func() {
		t.Helper()
		if _, _, err := raw.CreatePost(ctx, &model.Post{ChannelId: l.channelID, Message: "control: ping @" + me.Username}); err != nil {
			t.Fatal(err)
		}
	}
	// waitAbove waits for the count to pass n, and returns it.
	waitAbove := func(n int64) int64 {
		t.Helper()
		for {
			if c := count(); c > n {
				return c
			}
			if ctx.Err() != nil {
				t.Fatalf("the mention count stayed at %d: the server's mentions cannot be observed here", n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	before := count()
	control()
	before = waitAbove(before)

	r := adaptertest.MarkdownReply()
	r.Markdown += "\n\nAlso for @" + me.Username + ", **@channel**, [@all](https://x.example/@here) and `@here`.\n"
	sent, err := l.ad.Send(ctx, to, r)
	if err != nil {
		t.Fatal(err)
	}
	card := bot.Reply{Title: "Issue #7 for @" + me.Username, Text: "@channel: ask @chatops, cc x.@" + me.Username,
		Fields: []bot.Field{{Name: "Assignees", Value: "@" + me.Username}}}
	if _, err := l.ad.Send(ctx, to, card); err != nil {
		t.Fatal(err)
	}
	control()
	if after := waitAbove(before); after != before+1 {
		t.Fatalf("the mention count went from %d to %d over the two replies and one control: a reply mentioned the user", before, after)
	}
	p, _, err := l.user.GetPost(ctx, sent.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| service | version | pods |", "@\u200d" + me.Username} {
		if !strings.Contains(p.Message, want) {
			t.Errorf("the server's post lacks %q", want)
		}
	}
}
