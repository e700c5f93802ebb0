package slack

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/bot"
)

// A /chatops slash command run in a (private) channel the bot is not in:
// Send handles that (channel_not_found/not_in_channel -> response_url),
// but Whisper (chat.postEphemeral) returns Slack's refusal as a plain
// permanent error, not bot.ErrNoWhisper. The responder then returns the
// error instead of falling back to a DM, so a private answer (e.g. the
// link flow, a confirmation notice) to such a command is lost. The
// command's response_url (response_type ephemeral) could carry it.
func TestReviewWhisperInChannelBotIsNotInFallsBack(t *testing.T) {
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
