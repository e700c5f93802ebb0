package slack

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/bot"
)

// A /chatops slash command run in a (private) channel the bot is not in:
// chat.postEphemeral answers channel_not_found. Whisper used to return
// that as a plain permanent error, not bot.ErrNoWhisper, so the responder
// returned it instead of falling back to a DM, and a private answer (the
// link flow, a confirmation notice) was lost. Here the response_url
// refuses too: Whisper must succeed or say bot.ErrNoWhisper.
func TestWhisperInChannelBotIsNotInFallsBack(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/chat.postEphemeral") {
			fmt.Fprint(w, `{"ok":false,"error":"channel_not_found"}`)
			return
		}
		fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
	}))
	defer api.Close()
	a, err := New(Config{AppToken: "xapp-1", BotToken: "xoxb-1", APIURL: api.URL + "/",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	m := bot.Message{Platform: "slack", Sender: bot.User{ID: "U1"}, Conversation: bot.Conversation{ChannelID: "G9",
		Handle: responseurl.Handle{URL: api.URL + "/commands/T/1/x", Issued: time.Now(), User: "U1"}.Encode()}}
	err = a.Whisper(t.Context(), m, bot.Reply{Title: "only for you"})
	if err != nil && !errors.Is(err, bot.ErrNoWhisper) {
		t.Fatalf("Whisper = %v; want success (response_url ephemeral) or bot.ErrNoWhisper so the bot answers in a DM", err)
	}
}

// whisperServer is a Slack Web API whose chat.postEphemeral refuses with
// ephemeralErr, and whose response_url (path /commands/T/1/x) answers
// with status and body, recording what was posted there.
func whisperServer(t *testing.T, ephemeralErr string, status int, body string) (a *Adapter, hookURL string, posted func() []string) {
	t.Helper()
	var (
		mu    sync.Mutex
		posts []string
	)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/chat.postEphemeral"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"ok":false,"error":%q}`, ephemeralErr)
		case r.URL.Path == "/commands/T/1/x":
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			posts = append(posts, string(b))
			mu.Unlock()
			if strings.HasPrefix(body, "{") {
				w.Header().Set("Content-Type", "application/json")
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
		}
	}))
	t.Cleanup(api.Close)
	a, err := New(Config{AppToken: "xapp-1", BotToken: "xoxb-1", APIURL: api.URL + "/",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return a, api.URL + "/commands/T/1/x", func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), posts...)
	}
}

// In a channel the bot is not in, a whisper to a slash command's user goes
// through the command's response_url as an ephemeral response.
func TestWhisperInChannelBotIsNotInUsesResponseURL(t *testing.T) {
	for _, code := range []string{"channel_not_found", "not_in_channel"} {
		a, hook, posted := whisperServer(t, code, http.StatusOK, "ok")
		m := bot.Message{Platform: "slack", Sender: bot.User{ID: "U1"}, Conversation: bot.Conversation{ChannelID: "G9",
			Handle: responseurl.Handle{URL: hook, Issued: time.Now(), User: "U1"}.Encode()}}
		if err := a.Whisper(t.Context(), m, bot.Reply{Title: "only for you"}); err != nil {
			t.Fatalf("%s: Whisper = %v; want the ephemeral response through response_url", code, err)
		}
		p := posted()
		if len(p) != 1 || !strings.Contains(p[0], `"response_type":"ephemeral"`) || !strings.Contains(p[0], "only for you") {
			t.Fatalf("%s: response_url got %q; want one ephemeral response with the reply", code, p)
		}
	}
}

// Where the response_url cannot carry the whisper (none, used up, or
// refused), Whisper says bot.ErrNoWhisper, so the bot answers in a DM.
func TestWhisperWithoutUsableResponseURLSaysNoWhisper(t *testing.T) {
	for name, c := range map[string]struct {
		status int
		body   string
		handle func(hook string) string
	}{
		"no response_url": {http.StatusOK, "ok", func(string) string { return "" }},
		"used up": {http.StatusOK, "ok", func(hook string) string {
			return responseurl.Handle{URL: hook, Issued: time.Now(), User: "U1", Uses: responseURLLimits.MaxUses}.Encode()
		}},
		"expired": {http.StatusOK, "ok", func(hook string) string {
			return responseurl.Handle{URL: hook, Issued: time.Now().Add(-time.Hour), User: "U1"}.Encode()
		}},
		"refused": {http.StatusNotFound, "used_url", func(hook string) string {
			return responseurl.Handle{URL: hook, Issued: time.Now(), User: "U1"}.Encode()
		}},
	} {
		a, hook, _ := whisperServer(t, "channel_not_found", c.status, c.body)
		m := bot.Message{Platform: "slack", Sender: bot.User{ID: "U1"}, Conversation: bot.Conversation{ChannelID: "G9", Handle: c.handle(hook)}}
		if err := a.Whisper(t.Context(), m, bot.Reply{Title: "only for you"}); !errors.Is(err, bot.ErrNoWhisper) {
			t.Errorf("%s: Whisper = %v; want bot.ErrNoWhisper", name, err)
		}
	}
}
