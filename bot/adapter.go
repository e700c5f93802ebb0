package bot

import (
	"context"
	"errors"
	"net/http"
)

// Adapter connects the bot to one chat platform.
type Adapter interface {
	// Name is the platform name used in Message.Platform and identities.
	Name() string
	// Run connects and delivers every received message to deliver until ctx
	// ends, reconnecting by itself after drops. It returns nil when ctx ends
	// or the source is exhausted (the terminal at EOF), and an error only
	// when it cannot go on (bad credentials). deliver does not block for
	// long; it may be called from several goroutines.
	Run(ctx context.Context, deliver func(Message)) error
	// Send posts a reply into a conversation (and its thread) and returns a
	// reference to the posted message. Adapters honour platform rate limits
	// themselves (waiting Retry-After); an error means the reply could not be
	// posted now. Wrap errors that retrying cannot fix with Permanent.
	Send(ctx context.Context, to Conversation, r Reply) (Sent, error)
}

// Sent references a posted reply so it can be edited later.
type Sent struct {
	// Conversation is where the reply was posted.
	Conversation Conversation
	// ID is the platform's id of the posted message. When a long reply was
	// split into several messages it is the last one.
	ID string
}

// Editor is an optional Adapter capability: replacing a posted reply in
// place (Slack chat.update, Mattermost patch post, Discord edit message).
// Progress updates use it; adapters without it get new messages instead.
type Editor interface {
	Edit(ctx context.Context, ref Sent, r Reply) (Sent, error)
}

// Reactor is an optional Adapter capability: adding an emoji reaction to a
// received message, e.g. to acknowledge a command at once.
type Reactor interface {
	React(ctx context.Context, m Message, emoji string) error
}

// Whisperer is an optional Adapter capability: a reply only the sender
// of m sees (Slack chat.postEphemeral, a Discord ephemeral follow-up, a
// Mattermost slash command's ephemeral response), for answers that
// concern nobody else, such as "this button is not yours". An adapter
// that can whisper only for some messages returns ErrNoWhisper for the
// others, and is then treated as one without the capability.
type Whisperer interface {
	Whisper(ctx context.Context, m Message, r Reply) error
}

// ErrNoWhisper is Whisper's error (wrapped or not) when the adapter
// cannot answer m's sender privately in m's conversation; the bot then
// answers in their direct conversation, as for adapters without
// Whisperer.
var ErrNoWhisper = errors.New("no private reply in this conversation")

// DirectOpener is an optional Adapter capability: opening the direct
// conversation between the bot and the sender of a received message m
// (Slack conversations.open, Mattermost POST /channels/direct, Discord
// POST /users/@me/channels), or finding it when it exists, for what is
// for that user's eyes alone, such as a link to approve. The returned
// Conversation has Direct set. Handlers reach it through Direct.
type DirectOpener interface {
	OpenDirect(ctx context.Context, m Message) (Conversation, error)
}

// Endpoint is one HTTP route an adapter serves on the bot's listener.
type Endpoint struct {
	// Pattern is an http.ServeMux pattern with its method, e.g.
	// "POST /mattermost/command".
	Pattern string
	// Handler serves it. It answers at once: the work a request asks
	// for goes to the adapter's deliver, as for any received message.
	Handler http.Handler
}

// Endpoints is an optional Adapter capability: routes that a platform
// calls on the bot ([http] addr), such as Mattermost's slash commands,
// for adapters that receive some events over inbound HTTP. An empty
// list means the feature needing them is off.
type Endpoints interface {
	Endpoints() []Endpoint
}

// Console is an optional Adapter capability: an adapter whose every
// message comes from the operator at the machine's console (the
// terminal), where a piped script of many commands is normal use, not a
// flood. Per-user limits do not apply to it.
type Console interface {
	Console() bool
}

// ConnState is an adapter's connection state, for health reporting.
type ConnState int

// Connection states.
const (
	StateConnecting ConnState = iota
	StateConnected
	StateDegraded
)

func (s ConnState) String() string {
	switch s {
	case StateConnected:
		return "connected"
	case StateDegraded:
		return "degraded"
	default:
		return "connecting"
	}
}

// StateReporter is an optional Adapter capability: reporting connection
// state for a health endpoint.
type StateReporter interface {
	State() ConnState
}

// Responder answers one message. Handlers may reply several times and edit
// earlier replies (progress). Implementations are safe for concurrent use.
type Responder interface {
	// Reply posts a new reply in the message's conversation and thread.
	Reply(ctx context.Context, r Reply) (Sent, error)
	// Update replaces an earlier reply in place where the platform can edit
	// messages, and posts a new reply where it cannot. The returned Sent
	// refers to the message now showing r.
	Update(ctx context.Context, ref Sent, r Reply) (Sent, error)
}

// Handler handles messages addressed to the bot. commands.Router is one.
type Handler interface {
	HandleMessage(ctx context.Context, w Responder, m Message)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, w Responder, m Message)

// HandleMessage calls f.
func (f HandlerFunc) HandleMessage(ctx context.Context, w Responder, m Message) { f(ctx, w, m) }

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks an error that retrying cannot fix (the platform rejected
// the request as invalid, the channel is gone), so the bot does not retry.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
