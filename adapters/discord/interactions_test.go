package discord

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/chatops-dev/chatops/bot"
)

// A /chatops whose string option has no string value (null, or a number
// under type 3) is answered with the usage text. discordgo's StringValue
// would panic there, in acknowledge's own goroutine (dispatch: go
// a.acknowledge), outside safeDispatch's recover: the process would die.
func TestInteractionWithNullStringValueGetsUsage(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies []string
	)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.Method+" "+r.URL.Path+" "+string(b))
		mu.Unlock()
		if r.Method == http.MethodPatch {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"m1","channel_id":"c1"}`)
			return
		}
		w.WriteHeader(http.StatusNoContent) // the deferred callback is accepted
	}))
	defer api.Close()
	a, err := New(Config{Token: "t", APIURL: api.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.newSession()
	if err != nil {
		t.Fatal(err)
	}
	a.sess = s
	for _, value := range []string{`null`, `42`} {
		raw := `{"id":"1","application_id":"9","type":2,"token":"tok","version":1,"channel_id":"c1","guild_id":"g1",
		  "member":{"user":{"id":"u1","username":"u"}},
		  "data":{"id":"cmd","name":"chatops","type":1,"options":[{"name":"command","type":3,"value":` + value + `}]}}`
		var i discordgo.Interaction
		if err := json.Unmarshal([]byte(raw), &i); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		bodies = nil
		mu.Unlock()
		delivered := false
		var panicked any
		func() {
			defer func() { panicked = recover() }()
			a.acknowledge(&i, func(bot.Message) { delivered = true })
		}()
		if panicked != nil {
			t.Fatalf("value %s: acknowledge panicked (in production: an unrecovered panic in a goroutine, the process dies): %v", value, panicked)
		}
		if delivered {
			t.Errorf("value %s: delivered as a command", value)
		}
		mu.Lock()
		got := strings.Join(bodies, "\n")
		mu.Unlock()
		if !strings.Contains(got, "Usage: /chatops command:") {
			t.Errorf("value %s: no usage answer; requests:\n%s", value, got)
		}
	}
}

// A panic while handling an interaction (here: no REST session at all) is
// recovered and logged: acknowledge runs in its own goroutine, where an
// unrecovered panic would end the process.
func TestInteractionHandlerPanicIsRecoveredAndLogged(t *testing.T) {
	var logs bytes.Buffer
	a, err := New(Config{Token: "t", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	i := &discordgo.Interaction{ID: "1", Type: discordgo.InteractionApplicationCommand, Token: "tok",
		Data: discordgo.ApplicationCommandInteractionData{Name: commandName}}
	click := &discordgo.Interaction{ID: "2", Type: discordgo.InteractionMessageComponent, Token: "tok2",
		Data: discordgo.MessageComponentInteractionData{CustomID: "x", ComponentType: discordgo.ButtonComponent}}
	for name, ack := range map[string]func(){
		"acknowledge":          func() { a.acknowledge(i, func(bot.Message) {}) },
		"acknowledgeComponent": func() { a.acknowledgeComponent(click, func(bot.Message) {}) },
	} {
		logs.Reset()
		var panicked any
		func() {
			defer func() { panicked = recover() }()
			ack()
		}()
		if panicked != nil {
			t.Fatalf("%s let a panic through: %v", name, panicked)
		}
		if !strings.Contains(logs.String(), "panicked") {
			t.Errorf("%s: the panic was not logged:\n%s", name, logs.String())
		}
	}
}

// The deferred acknowledgement of /chatops (InteractionRespond) waits out
// a 429 like the replies do (rest), within Discord's 3 seconds: with
// discordgo's own retry off, a 429 with a 50 ms Retry-After used to drop
// the command after logging "could not acknowledge" ("The application did
// not respond", nothing run).
func TestRateLimitedAcknowledgementIsRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.ready(1)
	h.registered() // so the 429 hits the callback, not the command registration
	h.fake.RateLimitNext(1)
	h.fake.Interaction("c1", "g1", "u1", "echo acked")
	first := h.next()
	if first.Kind != "callback" {
		t.Fatalf("first %+v; want the deferred callback after waiting out the 429", first)
	}
	if p := h.next(); !strings.Contains(p.Content, "acked") {
		t.Fatalf("answer %+v", p)
	}
}
