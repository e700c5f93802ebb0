package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// fullConfirmation has every field set (checked by testConfirmation, so a
// field added to store.Confirmation must be added here).
func fullConfirmation(code string) *store.Confirmation {
	return &store.Confirmation{
		Code: code, Requester: "slack:U1", UserID: "U1",
		Platform: "slack", ChannelID: "C1", ThreadID: "17.1", Direct: true, Handle: "h",
		Project: "group/app", Job: "deploy", Ref: "v1", Args: "production  --force",
		ExpiresAt: time.Now().Add(time.Hour),
	}
}

func testConfirmation(t *testing.T, o Opener) {
	s := o.Open(t)
	c := fullConfirmation("c1")
	if err := s.CreateConfirmation(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	if c.CreatedAt.IsZero() {
		t.Error("CreatedAt not set")
	}
	got, err := s.TakeConfirmation(ctx(t), "c1", "slack:U1")
	if err != nil {
		t.Fatal(err)
	}
	if *got != *c {
		t.Errorf("took %+v, want %+v", got, c)
	}
	if _, err := s.TakeConfirmation(ctx(t), "c1", "slack:U1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second take: %v, want ErrNotFound", err)
	}
	if _, err := s.TakeConfirmation(ctx(t), "nope", "slack:U1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown code: %v, want ErrNotFound", err)
	}
	if err := s.CreateConfirmation(ctx(t), &store.Confirmation{}); err == nil {
		t.Error("empty code accepted")
	}
}

func testConfirmationNotYours(t *testing.T, o Opener) {
	s := o.Open(t)
	if err := s.CreateConfirmation(ctx(t), fullConfirmation("c1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeConfirmation(ctx(t), "c1", "slack:U2"); !errors.Is(err, store.ErrNotYours) {
		t.Fatalf("someone else took it: %v, want ErrNotYours", err)
	}
	if _, err := s.TakeConfirmation(ctx(t), "c1", "slack:U1"); err != nil {
		t.Fatalf("the requester after someone else: %v", err)
	}
}

func testConfirmationExpired(t *testing.T, o Opener) {
	s := o.Open(t)
	c := fullConfirmation("c1")
	c.ExpiresAt = time.Now().Add(-time.Second)
	if err := s.CreateConfirmation(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeConfirmation(ctx(t), "c1", "slack:U1"); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("took a lapsed confirmation: %v, want ErrExpired", err)
	}
	if _, err := s.TakeConfirmation(ctx(t), "c1", "slack:U1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after expiry: %v, want ErrNotFound", err)
	}
}

// testConfirmationTakenOnce is a double click: of many concurrent takers
// exactly one gets the confirmation.
func testConfirmationTakenOnce(t *testing.T, o Opener) {
	s := o.Open(t)
	if err := s.CreateConfirmation(ctx(t), fullConfirmation("c1")); err != nil {
		t.Fatal(err)
	}
	var won atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := s.TakeConfirmation(ctx(t), "c1", "slack:U1")
			switch {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, store.ErrNotFound):
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := won.Load(); n != 1 {
		t.Errorf("%d takers got the confirmation, want 1", n)
	}
}

func testConfirmationDuplicate(t *testing.T, o Opener) {
	s := o.Open(t)
	if err := s.CreateConfirmation(ctx(t), fullConfirmation("c1")); err != nil {
		t.Fatal(err)
	}
	err := s.CreateConfirmation(ctx(t), fullConfirmation("c1"))
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate code: %v, want ErrExists", err)
	}
}
