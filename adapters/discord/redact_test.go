package discord

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/bot"
)

// tokenAdapter is an adapter with a REST session against api, logging to
// logs, and a Conversation replying through the interaction token.
func tokenAdapter(t *testing.T, api string, logs io.Writer, token string, tweak func(*Config)) (*Adapter, bot.Conversation) {
	t.Helper()
	cfg := Config{Token: "t", APIURL: api, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.newSession()
	if err != nil {
		t.Fatal(err)
	}
	a.sess, a.appID = s, "9"
	return a, bot.Conversation{ChannelID: "c1", Handle: interactionHandle{Token: token, Issued: a.now()}.encode()}
}

// The rate-limit log line names the route without the interaction token:
// discordgo's RateLimit.URL for interaction replies is
// /webhooks/<app>/<interaction token>/..., and the token (a 15-minute
// credential to post and edit as the bot in that channel) is unknown to
// the config-secret redactor.
func TestRateLimitLogMasksInteractionToken(t *testing.T) {
	const token = "SECRET-INTERACTION-TOKEN"
	calls := 0
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		if calls == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"message":"You are being rate limited.","retry_after":0.01,"global":false}`)
			return
		}
		fmt.Fprint(w, `{"id":"m1","channel_id":"c1","content":"x"}`)
	}))
	defer api.Close()
	var logs bytes.Buffer
	a, to := tokenAdapter(t, api.URL, &logs, token, nil)
	if _, err := a.Send(t.Context(), to, bot.Reply{Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), token) {
		t.Fatalf("the interaction token is in the logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "/webhooks/9/<token>/messages/@original") {
		t.Fatalf("the log does not name the route:\n%s", logs.String())
	}
}

// Errors from REST calls through an interaction token, which the bot
// logs, do not carry the token either: discordgo quotes the URL in a
// RateLimitError (a Retry-After over the bound) and Go's http client in
// a *url.Error (the connection failed).
func TestRESTErrorsMaskInteractionToken(t *testing.T) {
	const token = "SECRET-INTERACTION-TOKEN"
	for name, handler := range map[string]http.HandlerFunc{
		"rate limited past the bound": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"message":"You are being rate limited.","retry_after":60,"global":false}`)
		},
		"connection dropped": func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			api := httptest.NewServer(handler)
			defer api.Close()
			var logs bytes.Buffer
			a, to := tokenAdapter(t, api.URL, &logs, token, func(c *Config) { c.MaxRateLimitWait = time.Second })
			_, err := a.Send(t.Context(), to, bot.Reply{Text: "hello"})
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), token) {
				t.Fatalf("the error, which the bot logs, carries the interaction token: %v", err)
			}
			if strings.Contains(logs.String(), token) {
				t.Fatalf("the interaction token is in the logs:\n%s", logs.String())
			}
		})
	}
}
