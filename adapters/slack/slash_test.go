package slack

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/internal/responseurl"
	"github.com/chatops-dev/chatops/bot"
)

// A slash command's response_url is a credential: whoever has it may post
// in the channel for 30 minutes. When posting to it fails at the network
// level, the error returned (and logged by the bot's responder on every
// retry) names the host only: Go's *url.Error, which slack-go returns as
// it is, quotes the whole URL, and the log redactor only knows the
// config's secrets.
func TestResponseURLErrorDoesNotCarryTheURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ln.Close() // nothing listens: the post fails with connection refused
	a, err := New(Config{AppToken: "xapp-1", BotToken: "xoxb-1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "responseurlsecret000"
	conv := bot.Conversation{ChannelID: "C9",
		Handle: responseurl.Handle{URL: base + "/commands/T1/1/" + secret, Issued: time.Now(), User: "U1"}.Encode()}
	_, err = a.viaResponseURL(t.Context(), conv, render(bot.Reply{Title: "x"}), true)
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("the error, which the bot logs, carries the response_url: %v", err)
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("the error does not name the host: %v", err)
	}
}
