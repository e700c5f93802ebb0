package slack

import (
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
)

func TestNewValidatesConfig(t *testing.T) {
	const app, botTok = "xapp-1-A1-secretapp", "xoxb-1-secretbot"
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" means valid
	}{
		{"valid", Config{AppToken: app, BotToken: botTok}, ""},
		{"valid with api_url", Config{AppToken: app, BotToken: botTok, APIURL: "http://127.0.0.1:1/api/"}, ""},
		{"missing app token", Config{BotToken: botTok}, "app_token is missing"},
		{"missing bot token", Config{AppToken: app}, "bot_token is missing"},
		{"tokens swapped", Config{AppToken: botTok, BotToken: app}, "app_token must be an app-level token"},
		{"user token as bot token", Config{AppToken: app, BotToken: "xoxp-1-secretuser"}, "bot_token must be a bot token"},
		{"api_url without slash", Config{AppToken: app, BotToken: botTok, APIURL: "http://127.0.0.1:1/api"}, `api_url "http://127.0.0.1:1/api" must end with "/"`},
		{"api_url not http", Config{AppToken: app, BotToken: botTok, APIURL: "ftp://x/"}, "api_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if a.Name() != "slack" || a.State() != bot.StateConnecting {
					t.Errorf("new adapter: name %q state %s", a.Name(), a.State())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error %v, want one containing %q", err, tt.wantErr)
			}
			for _, secret := range []string{"secretapp", "secretbot", "secretuser"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks a token", err)
				}
			}
		})
	}
}

func TestBackoffIsJitteredAndCapped(t *testing.T) {
	a, err := New(Config{AppToken: "xapp-1", BotToken: "xoxb-1", BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for n := range 12 {
		base := min(100*time.Millisecond<<n, time.Second)
		seen := map[time.Duration]bool{}
		for range 50 {
			d := a.backoff(n)
			if d < base/2 || d > base {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, d, base/2, base)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("backoff(%d) is not jittered", n)
		}
	}
}

func TestStateDegradedWhileSlackIsDown(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.waitState(bot.StateConnected)
	h.fake.Close() // every reconnect now fails
	h.waitState(bot.StateDegraded)
}
