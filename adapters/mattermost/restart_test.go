package mattermost

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/adaptertest"
)

// memCursors is an in-memory Cursors, standing in for the store that
// outlives the process (store.Store passes the same contract in
// store/storetest).
type memCursors struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *memCursors) Cursor(_ context.Context, key string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key], nil
}

func (c *memCursors) SetCursor(_ context.Context, key, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = value
	return nil
}

// TestRestartCatchesUpFromTheStoredPosition: a command posted while no
// bot process ran is answered by the next process, which starts from the
// newest post the previous one saw; one older than catch_up is answered
// that it was not run.
func TestRestartCatchesUpFromTheStoredPosition(t *testing.T) {
	cursors := &memCursors{m: map[string]string{}}
	withCursors := func(c *Config) { c.Cursors, c.CatchUp = cursors, 5*time.Minute }
	h := newHarness(t, withCursors)
	h.waitConnected(1)
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo before", "")
	if r := h.next(); !strings.Contains(r.Post.Message, "before") {
		t.Fatalf("reply = %q", r.Post.Message)
	}
	h.stop()
	if v, _ := cursors.Cursor(context.Background(), "mattermost:last-post:"+h.fake.BotID); v == "" {
		t.Fatal("the stopped adapter stored no catch-up position")
	}

	// While no process runs: a fresh command, and one from before the
	// last seen post (never fetched again).
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo while down", "")
	h.start(adaptertest.Router(), withCursors)
	h.waitConnected(2)
	if r := h.next(); !strings.Contains(r.Post.Message, "while down") {
		t.Fatalf("reply after restart = %q", r.Post.Message)
	}
	h.none(200 * time.Millisecond)
}

// TestRestartAfterALongOutage: the stored position is 20 minutes old; a
// command from 10 minutes ago (older than catch_up) is answered that it
// was not run, one from just now runs.
func TestRestartAfterALongOutage(t *testing.T) {
	cursors := &memCursors{m: map[string]string{}}
	withCursors := func(c *Config) { c.Cursors, c.CatchUp = cursors, 5*time.Minute }
	h := newHarness(t, withCursors)
	h.waitConnected(1)
	h.stop()
	_ = cursors.SetCursor(context.Background(), "mattermost:last-post:"+h.fake.BotID,
		itoa(time.Now().Add(-20*time.Minute).UnixMilli()))
	old := h.fake.PostAt(h.fake.ChannelID, h.userID, "@chatops echo stale", time.Now().Add(-10*time.Minute))
	h.fake.Post(h.fake.ChannelID, h.userID, "@chatops echo fresh", "")
	h.start(adaptertest.Router(), withCursors)
	h.waitConnected(2)
	var got []string
	for range 2 {
		r := h.next()
		got = append(got, r.Post.Message)
		if strings.Contains(r.Post.Message, "missed this command") && r.Post.RootId != old.Id {
			t.Fatalf("the missed notice went to %q, want the stale command's thread %q", r.Post.RootId, old.Id)
		}
	}
	all := strings.Join(got, "\n---\n")
	if !strings.Contains(all, "fresh") || !strings.Contains(all, "missed this command") || strings.Contains(all, "stale") {
		t.Fatalf("replies after a long outage (want the fresh command run, the stale one answered as missed):\n%s", all)
	}
	h.none(200 * time.Millisecond)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A catch-up runs in the connection's loop and may take longer than the
// watchdog (here a "missed" notice waits out a 1 s Retry-After, with a
// 500 ms watchdog, while the server is quiet). The watchdog restarts once
// the catch-up is done instead of firing at once and cutting the
// connection that just came up.
func TestSlowCatchUpDoesNotTripTheWatchdog(t *testing.T) {
	cursors := &memCursors{m: map[string]string{}}
	withCursors := func(c *Config) { c.Cursors, c.CatchUp, c.Watchdog = cursors, 5*time.Minute, 500*time.Millisecond }
	h := newHarness(t, withCursors)
	h.waitConnected(1)
	h.stop()
	_ = cursors.SetCursor(context.Background(), "mattermost:last-post:"+h.fake.BotID,
		itoa(time.Now().Add(-20*time.Minute).UnixMilli()))
	h.fake.PostAt(h.fake.ChannelID, h.userID, "@chatops echo stale", time.Now().Add(-10*time.Minute))
	h.fake.FailPosts(1, http.StatusTooManyRequests, "1")
	h.fake.SetSilent(true) // no pings: nothing else resets the watchdog meanwhile
	h.start(adaptertest.Router(), withCursors)
	h.waitConnected(2)
	if r := h.next(); !strings.Contains(r.Post.Message, "missed this command") {
		t.Fatalf("reply %q; want the missed notice", r.Post.Message)
	}
	h.fake.SetSilent(false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := h.fake.WaitConnected(ctx, 3); err == nil {
		t.Fatal("the adapter reconnected after a slow catch-up: the watchdog fired for the time the catch-up took")
	}
}
