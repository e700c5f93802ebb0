package keyedlock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLockSerialisesOneKeyOnly(t *testing.T) {
	var m Map
	ctx := context.Background()
	unlockA, err := m.Lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	// Another key is free while "a" is held.
	unlockB, err := m.Lock(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	// "a" again waits, and gives up with its context.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := m.Lock(short, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock of a held key: %v", err)
	}
	unlockA()
	unlockA2, err := m.Lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	unlockA2()
	if len(m.m) != 0 {
		t.Fatalf("%d entries left after every unlock", len(m.m))
	}
}
