package responseurl

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestHandleRoundTrip(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	for _, h := range []Handle{
		{URL: "https://hooks.example/commands/abc?x=1&y=2", Issued: at, User: "U1", Uses: 3},
		{URL: "https://hooks.example/x"},
	} {
		got, ok := Decode(h.Encode())
		if !ok || got.URL != h.URL || !got.Issued.Equal(h.Issued) || got.User != h.User || got.Uses != h.Uses {
			t.Errorf("Decode(Encode(%+v)) = %+v, %v", h, got, ok)
		}
	}
	for _, s := range []string{"", "https://hooks.example/old-bare-url", "r2?u=x"} {
		if _, ok := Decode(s); ok {
			t.Errorf("Decode(%q) took it for a handle", s)
		}
	}
	if h, ok := Decode("r1?%zz"); !ok || h.URL != "" {
		t.Errorf("a damaged handle = %+v, %v; want one without URL", h, ok)
	}
}

func TestTake(t *testing.T) {
	lim := Limits{Lifetime: 30 * time.Minute, Margin: time.Minute, MaxUses: 4, Rule: "5 within 30 minutes"}
	now := time.Now()
	tests := []struct {
		name     string
		h        Handle
		previous int // uses taken before, through handles carrying fewer
		wantUses int
		wantErr  bool
	}{
		{name: "fresh", h: Handle{URL: "u", Issued: now}, wantUses: 1},
		{name: "the handle's count", h: Handle{URL: "u", Issued: now, Uses: 2}, wantUses: 3},
		{name: "the process's count", h: Handle{URL: "u", Issued: now}, previous: 2, wantUses: 3},
		{name: "used up by the handle", h: Handle{URL: "u", Issued: now, Uses: 4}, wantErr: true},
		{name: "used up in the process", h: Handle{URL: "u", Issued: now}, previous: 4, wantErr: true},
		{name: "inside the margin", h: Handle{URL: "u", Issued: now.Add(-29*time.Minute - time.Second)}, wantErr: true},
		{name: "just before the margin", h: Handle{URL: "u", Issued: now.Add(-28 * time.Minute)}, wantUses: 1},
		{name: "unknown age", h: Handle{URL: "u"}, wantUses: 1},
		{name: "no URL", h: Handle{Issued: now}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u Uses
			for range tt.previous {
				if _, err := u.Take(Handle{URL: tt.h.URL, Issued: tt.h.Issued}, lim, now); err != nil {
					t.Fatal(err)
				}
			}
			got, err := u.Take(tt.h, lim, now)
			if (err != nil) != tt.wantErr || err != nil && !errors.Is(err, ErrUnusable) {
				t.Fatalf("Take = %+v, %v; want error %v (ErrUnusable)", got, err, tt.wantErr)
			}
			if err == nil && got.Uses != tt.wantUses {
				t.Fatalf("Uses = %d, want %d", got.Uses, tt.wantUses)
			}
		})
	}
}

// TestTakeForgetsOldURLs: the process's counts do not grow without bound.
func TestTakeForgetsOldURLs(t *testing.T) {
	lim := Limits{Lifetime: 30 * time.Minute, MaxUses: 4}
	var u Uses
	start := time.Now()
	for i := range 100 {
		if _, err := u.Take(Handle{URL: string(rune('a'+i%26)) + time.Duration(i).String(), Issued: start}, lim, start); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := u.Take(Handle{URL: "late"}, lim, start.Add(31*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := len(u.by); n != 1 {
		t.Fatalf("%d URLs remembered after their lifetime, want 1", n)
	}
}

// A failed post's error names the host, not the response URL, whose path
// is a credential; the underlying error is kept.
func TestScrubErrorDropsTheURL(t *testing.T) {
	const secret = "hooksecret000"
	cause := errors.New("connection refused")
	err := ScrubError(&url.Error{Op: "Post", URL: "https://chat.example.com/hooks/commands/" + secret, Err: cause})
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("the error carries the URL: %v", err)
	}
	if !strings.Contains(err.Error(), "chat.example.com") || !errors.Is(err, cause) {
		t.Fatalf("the error lost its host or cause: %v", err)
	}
	if other := errors.New("x"); ScrubError(other) != other {
		t.Fatal("another error was changed")
	}
}
