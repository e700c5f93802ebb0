package slacktest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

func TestCheckMessage(t *testing.T) {
	long := strings.Repeat("x", 3001)
	tests := []struct {
		name, text, blocks, want string
	}{
		{"plain text", "hi", "", ""},
		{"empty", " ", "", "no_text"},
		{"too long text", strings.Repeat("x", 4001), "", "msg_too_long"},
		{"blocks too long in total", "", "[" + strings.TrimSuffix(strings.Repeat(`{"type":"section","text":{"type":"mrkdwn","text":"`+strings.Repeat("y", 2999)+`"}},`, 5), ",") + "]", "msg_blocks_too_long"},
		{"section ok", "", `[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]`, ""},
		{"section too long", "", `[{"type":"section","text":{"type":"mrkdwn","text":"` + long + `"}}]`, "invalid_blocks"},
		{"header markdown", "", `[{"type":"header","text":{"type":"mrkdwn","text":"hi"}}]`, "invalid_blocks"},
		{"header too long", "", `[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("h", 151) + `"}}]`, "invalid_blocks"},
		{"too many blocks", "", "[" + strings.TrimSuffix(strings.Repeat(`{"type":"divider"},`, 51), ",") + "]", "invalid_blocks"},
		{"bad json", "", `[{`, "invalid_blocks_format"},
		{"unknown block", "", `[{"type":"nope"}]`, "invalid_blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			if tt.blocks != "" {
				b = []byte(tt.blocks)
			}
			if got, _ := CheckMessage(tt.text, b); got != tt.want {
				t.Errorf("CheckMessage = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWebAPIThroughSlackGo(t *testing.T) {
	s := New()
	defer s.Close()
	api := slack.New(s.BotToken, slack.OptionAPIURL(s.APIURL()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	res, err := api.AuthTestContext(ctx)
	if err != nil || res.UserID != s.BotUserID || res.BotID != s.BotID {
		t.Fatalf("auth.test = %+v, %v", res, err)
	}
	ch, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hello", false), slack.MsgOptionTS("1.000001"))
	if err != nil || ch != "C1" || ts == "" {
		t.Fatalf("postMessage = %q %q %v", ch, ts, err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("edited", false)); err != nil {
		t.Fatalf("update: %v", err)
	}
	_, _, _, err = api.UpdateMessageContext(ctx, "C1", "9.9", slack.MsgOptionText("x", false))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "message_not_found" {
		t.Errorf("update of unknown ts: %v", err)
	}
	s.RateLimit("chat.postMessage", 7)
	_, _, err = api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Errorf("rate limited post: %v", err)
	}
	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL()))
	if _, _, err := bad.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("wrong token: %v", err)
	}
	p1, _ := s.NextPost(ctx)
	p2, _ := s.NextPost(ctx)
	if p1.Method != "chat.postMessage" || p1.ThreadTS != "1.000001" || p1.Text != "hello" || p2.Method != "chat.update" || p2.Text != "edited" {
		t.Errorf("recorded %+v then %+v", p1, p2)
	}
	if n := len(s.Posts()); n != 2 {
		t.Errorf("recorded %d posts, want 2 (rejected calls are not recorded)", n)
	}
}

// dialSocket opens a Socket Mode connection as a client would and returns
// a channel of the envelope ids it receives (it acks each one).
func dialSocket(t *testing.T, s *Server) <-chan string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.APIURL()+"apps.connections.open", nil)
	req.Header.Set("Authorization", "Bearer "+s.AppToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var open struct{ URL string }
	err = json.NewDecoder(res.Body).Decode(&open)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.Dial(open.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	got := make(chan string, 100)
	go func() {
		for {
			var env struct {
				Type string `json:"type"`
				ID   string `json:"envelope_id"`
			}
			if err := ws.ReadJSON(&env); err != nil {
				return
			}
			if env.ID != "" {
				_ = ws.WriteJSON(map[string]string{"envelope_id": env.ID})
				got <- env.ID
			}
		}
	}()
	return got
}

func TestSpreadOverConnections(t *testing.T) {
	s := New(WithSpread())
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := dialSocket(t, s)
	if err := s.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	b := dialSocket(t, s)
	if err := s.WaitConnections(ctx, 2); err != nil {
		t.Fatal(err)
	}
	recv := func(ch <-chan string) string {
		select {
		case id := <-ch:
			return id
		case <-ctx.Done():
			t.Fatal("no envelope")
			return ""
		}
	}
	conns := map[int]<-chan string{1: a, 2: b}
	per := map[int]int{}
	for range 6 {
		id := s.Mention("C1", "U1", "hi").EnvelopeIDs[0]
		c := s.CarriedBy(id)
		if got := recv(conns[c]); got != id {
			t.Fatalf("connection %d received %s, want %s", c, got, id)
		}
		per[c]++
		again, err := s.Redeliver(id)
		if err != nil {
			t.Fatal(err)
		}
		other := 3 - c
		if s.CarriedBy(again) != other {
			t.Fatalf("redelivery of %s on connection %d, want the other one, %d", id, s.CarriedBy(again), other)
		}
		if got := recv(conns[other]); got != again {
			t.Fatalf("connection %d received %s, want the redelivery %s", other, got, again)
		}
	}
	if per[1] != 3 || per[2] != 3 {
		t.Fatalf("envelopes per connection %v, want 3 each", per)
	}
}
