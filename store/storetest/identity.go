package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// testIdentity is the linked-identity contract: save, read back every
// field, replace, delete (twice), and ErrNotFound for an unknown one.
func testIdentity(t *testing.T, o Opener) {
	s := o.Open(t)
	if _, err := s.GetIdentity(ctx(t), "test:U-none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetIdentity(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.SaveIdentity(ctx(t), &store.Identity{}); err == nil {
		t.Fatal("SaveIdentity with an empty Chat succeeded")
	}
	want := &store.Identity{Chat: "slack:U1", GitLabUserID: 7, GitLabUsername: "alice",
		AccessToken: []byte{0, 1, 2, 255}, RefreshToken: []byte("sealed-refresh"),
		ExpiresAt: time.Now().Add(2 * time.Hour), LinkedAt: time.Now()}
	if err := s.SaveIdentity(ctx(t), want); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIdentity(ctx(t), "slack:U1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetIdentity = %+v, want %+v", got, want)
	}
	// Saving again replaces (a refreshed token, a relink).
	want.AccessToken, want.ExpiresAt, want.GitLabUsername = []byte("new"), time.Time{}, "alice2"
	if err := s.SaveIdentity(ctx(t), want); err != nil {
		t.Fatal(err)
	}
	if got, err = s.GetIdentity(ctx(t), "slack:U1"); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("after replace GetIdentity = %+v, %v, want %+v", got, err, want)
	}
	// Another identity is apart.
	if _, err := s.GetIdentity(ctx(t), "slack:U2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetIdentity(other) = %v, want ErrNotFound", err)
	}
	for range 2 {
		if err := s.DeleteIdentity(ctx(t), "slack:U1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetIdentity(ctx(t), "slack:U1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetIdentity(deleted) = %v, want ErrNotFound", err)
	}
}
