package mattermost

import (
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/bot"
)

// A slash command's response URL (/hooks/commands/<id>) is a credential:
// whoever has it may post in the channel as the command's user for 30
// minutes. When posting to it fails at the network level, the error
// returned (and logged by the bot's responder on every retry) names the
// host only: Go's *url.Error quotes the whole URL, and the log redactor
// only knows the config's secrets.
func TestHookErrorDoesNotCarryTheResponseURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ln.Close() // nothing listens: the post fails with connection refused
	a, err := New(Config{URL: base, Token: "tok", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "hookidsecret0000000000000a"
	h := responseurl.Handle{URL: base + "/hooks/commands/" + secret, Issued: time.Now(), User: "u"}
	_, err = a.viaHook(t.Context(), bot.Conversation{ChannelID: "c"}, h, bot.Reply{Title: "x"}, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("the error, which the bot logs, carries the response URL's id: %v", err)
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("the error does not name the host: %v", err)
	}
}

// A malformed response_url is refused without quoting it in the error,
// which is logged.
func TestMalformedResponseURLIsNotQuoted(t *testing.T) {
	const secret = "hookidsecret0000000000000a"
	id := "abcdefghijklmnopqrstuvwxyz"
	_, err := ParseSlashForm(url.Values{"team_id": {id}, "channel_id": {id}, "user_id": {id},
		"response_url": {"ftp://chat.example.com/hooks/commands/" + secret}})
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("the error quotes the response URL: %v", err)
	}
}
