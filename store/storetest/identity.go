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

// testIdentityConditional: SaveIdentityIf and DeleteIdentityIf act only
// on a link that still holds the refresh token the caller read: not on a
// link replaced since, nor on one deleted (a save never brings it back).
func testIdentityConditional(t *testing.T, o Opener) {
	s := o.Open(t)
	old := &store.Identity{Chat: "slack:U1", GitLabUserID: 7, GitLabUsername: "alice",
		AccessToken: []byte("a1"), RefreshToken: []byte("r1"), ExpiresAt: time.Now().Add(time.Hour), LinkedAt: time.Now()}
	if ok, err := s.SaveIdentityIf(ctx(t), old, []byte("r1")); err != nil || ok {
		t.Fatalf("SaveIdentityIf with no link stored = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.GetIdentity(ctx(t), "slack:U1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SaveIdentityIf created a link: %v", err)
	}
	if err := s.SaveIdentity(ctx(t), old); err != nil {
		t.Fatal(err)
	}
	next := *old
	next.AccessToken, next.RefreshToken, next.ExpiresAt = []byte("a2"), []byte("r2"), time.Now().Add(2*time.Hour)
	if ok, err := s.SaveIdentityIf(ctx(t), &next, []byte("r0")); err != nil || ok {
		t.Fatalf("SaveIdentityIf with another refresh token = %v, %v; want false, nil", ok, err)
	}
	if got, err := s.GetIdentity(ctx(t), "slack:U1"); err != nil || !reflect.DeepEqual(got, old) {
		t.Fatalf("after a refused SaveIdentityIf GetIdentity = %+v, %v, want %+v", got, err, old)
	}
	if ok, err := s.SaveIdentityIf(ctx(t), &next, []byte("r1")); err != nil || !ok {
		t.Fatalf("SaveIdentityIf with the stored refresh token = %v, %v; want true, nil", ok, err)
	}
	if got, err := s.GetIdentity(ctx(t), "slack:U1"); err != nil || !reflect.DeepEqual(got, &next) {
		t.Fatalf("after SaveIdentityIf GetIdentity = %+v, %v, want %+v", got, err, &next)
	}
	if ok, err := s.DeleteIdentityIf(ctx(t), "slack:U1", []byte("r1")); err != nil || ok {
		t.Fatalf("DeleteIdentityIf with a replaced refresh token = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.GetIdentity(ctx(t), "slack:U1"); err != nil {
		t.Fatalf("DeleteIdentityIf with a replaced refresh token deleted the link: %v", err)
	}
	if ok, err := s.DeleteIdentityIf(ctx(t), "slack:U1", []byte("r2")); err != nil || !ok {
		t.Fatalf("DeleteIdentityIf with the stored refresh token = %v, %v; want true, nil", ok, err)
	}
	if _, err := s.GetIdentity(ctx(t), "slack:U1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetIdentity after DeleteIdentityIf = %v, want ErrNotFound", err)
	}
	if ok, err := s.DeleteIdentityIf(ctx(t), "slack:U1", []byte("r2")); err != nil || ok {
		t.Fatalf("DeleteIdentityIf of a deleted link = %v, %v; want false, nil", ok, err)
	}
}
