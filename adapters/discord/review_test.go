package discord

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot"
)

// The rate-limit log line carries discordgo's RateLimit.URL, which for
// interaction replies is /webhooks/<app>/<interaction token>/...: the
// token (a 15-minute credential to post and edit as the bot in that
// channel) is written to the logs, where the config-secret redactor does
// not know it.
func TestReviewRateLimitLogDoesNotLeakInteractionToken(t *testing.T) {
	const token = "SECRET-INTERACTION-TOKEN"
	calls := 0
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"message":"You are being rate limited.","retry_after":0.01,"global":false}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"m1","channel_id":"c1","content":"x"}`)
	}))
	defer api.Close()
	var logs bytes.Buffer
	a, err := New(Config{Token: "t", APIURL: api.URL, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.newSession()
	if err != nil {
		t.Fatal(err)
	}
	a.sess, a.appID = s, "9"
	to := bot.Conversation{ChannelID: "c1", Handle: interactionHandle{Token: token, Issued: a.now()}.encode()}
	if _, err := a.Send(t.Context(), to, bot.Reply{Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), token) {
		t.Fatalf("the interaction token is in the logs:\n%s", logs.String())
	}
}
