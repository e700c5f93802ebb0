package identity

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/seal"
	"github.com/chatops-dev/chatops/store/sqlite"
)

// staleOnce hands out one stale copy of a link on its first read, as a
// replica that read it just before another replica refreshed it.
type staleOnce struct {
	store.Store
	stale *store.Identity
}

func (s *staleOnce) GetIdentity(ctx context.Context, chat string) (*store.Identity, error) {
	if st := s.stale; st != nil {
		s.stale = nil
		return st, nil
	}
	return s.Store.GetIdentity(ctx, chat)
}

// TestRefreshRaceKeepsTheLink: when another replica refreshed first (so
// GitLab's rotation spent the refresh token this one holds), the link is
// kept and the other replica's new token used, not deleted.
func TestRefreshRaceKeepsTheLink(t *testing.T) {
	fake := gitlabtest.New(gitlabtest.Options{})
	t.Cleanup(fake.Close)
	fake.AddUser("alice", gitlabtest.Developer)
	fake.SetTokenLifetime(time.Minute)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	opts := Options{GitLabURL: fake.URL(), ClientID: "app", Store: st, Sealer: sealer, Logger: bottest.Quiet()}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	access, refresh := fake.IssueToken("alice")
	ctx := context.Background()
	if err := a.save(ctx, "test:U-alice", 1, "alice", &oauth2.Token{AccessToken: access, RefreshToken: refresh, Expiry: time.Now().Add(time.Minute)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	stale, _ := st.GetIdentity(ctx, "test:U-alice")
	// Replica a refreshes.
	if _, err := a.Actor(ctx, "test:U-alice"); err != nil {
		t.Fatal(err)
	}
	// Replica b read the link before that, and refreshes with the spent token.
	opts.Store = &staleOnce{Store: st, stale: stale}
	b, _ := New(opts)
	got, err := b.refresh(ctx, "test:U-alice")
	if err != nil {
		t.Fatalf("refresh after another replica's: %v", err)
	}
	if bytes.Equal(got.RefreshToken, stale.RefreshToken) {
		t.Error("the spent refresh token is still the link's")
	}
	if _, err := st.GetIdentity(ctx, "test:U-alice"); err != nil {
		t.Fatalf("the link was deleted: %v", err)
	}
}
