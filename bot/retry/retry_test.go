package retry

import (
	"context"
	"testing"
	"time"
)

func TestBackoffBoundsAndJitter(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}
	for n, ceil := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000, 2000} {
		ceil *= time.Millisecond
		seen := map[time.Duration]bool{}
		for range 200 {
			w := b.Wait(n)
			if w < ceil/2 || w > ceil {
				t.Fatalf("Wait(%d) = %v, want within [%v, %v]", n, w, ceil/2, ceil)
			}
			seen[w] = true
		}
		if len(seen) < 10 {
			t.Fatalf("Wait(%d) took only %d values in 200 draws: no jitter", n, len(seen))
		}
	}
	if w := b.Wait(1000); w > b.Max {
		t.Fatalf("Wait(1000) = %v overflows the cap", w)
	}
	if w := (Backoff{}).Wait(3); w <= 0 || w > 8*time.Millisecond {
		t.Fatalf("zero Backoff waits %v", w)
	}
}

func TestHealthyResets(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 10 * time.Second}
	if b.Healthy(5 * time.Second) {
		t.Fatal("a connection that lived less than twice the cap counted as healthy")
	}
	if !b.Healthy(21 * time.Second) {
		t.Fatal("a long-lived connection did not reset the backoff")
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if Sleep(ctx, time.Hour) || time.Since(start) > time.Second {
		t.Fatal("Sleep outlived its context")
	}
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep did not wait")
	}
}
