// Package commands routes chat messages to command handlers, much as
// net/http.ServeMux routes requests: commands are declared as data (name,
// usage, summary, handler), help is generated from them, and middleware
// wraps handlers without touching them. It knows no chat platform.
package commands

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chatops-dev/chatops/bot"
)

// Request is one command invocation.
type Request struct {
	// Message is the chat message that carried the command.
	Message bot.Message
	// Command is the canonical name of the command that matched.
	Command string
	// Invoked is the name as typed (an alias or the canonical name).
	Invoked string
	// RawArgs is the text after the command name, byte for byte.
	RawArgs string

	tokOnce sync.Once
	tokens  []string
	tokErr  error
}

// Args returns the arguments split into words (see Tokenize). The error is
// a *TokenError whose message can be shown to the user.
func (r *Request) Args() ([]string, error) {
	r.tokOnce.Do(func() { r.tokens, r.tokErr = Tokenize(r.RawArgs) })
	return r.tokens, r.tokErr
}

// Handler serves one command. Replies go through w; a returned error is
// turned into a reply by the router (see bot.Refusal).
type Handler interface {
	ServeCommand(ctx context.Context, w bot.Responder, r *Request) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, w bot.Responder, r *Request) error

// ServeCommand calls f.
func (f HandlerFunc) ServeCommand(ctx context.Context, w bot.Responder, r *Request) error {
	return f(ctx, w, r)
}

// Middleware wraps a handler, e.g. for access control or auditing. The
// first middleware added with Use is the outermost.
type Middleware func(Handler) Handler

// Command declares a command.
type Command struct {
	// Name is what users type, lower case, one word.
	Name string
	// Aliases are other names for the command.
	Aliases []string
	// Usage is the argument synopsis, e.g. "<job> [arguments...]".
	Usage string
	// Summary is one line for the command list.
	Summary string
	// Help is the longer text for "help <name>".
	Help string
	// Examples are full example invocations.
	Examples []string
	// Handler serves the command.
	Handler Handler
	// Hidden leaves the command out of the help overview: a name that
	// scopes other commands (a project alias) rather than one to learn.
	Hidden bool
}

// Plugin is a set of commands a bot operator adds to the router.
type Plugin interface {
	Commands() []Command
}

// Router dispatches messages to commands. It implements bot.Handler.
type Router struct {
	botName    string
	mu         sync.RWMutex
	commands   map[string]*Command // by canonical name
	names      map[string]string   // name or alias -> canonical name
	middleware []Middleware
	services   []bot.Service
}

// NewRouter returns a router with the built-in help command. botName is
// how users address the bot, used in help text ("@chatops run ...").
func NewRouter(botName string) *Router {
	rt := &Router{botName: botName, commands: map[string]*Command{}, names: map[string]string{}}
	rt.MustHandle(rt.helpCommand())
	return rt
}

// Use appends middleware applied to every command, including help.
func (rt *Router) Use(mw ...Middleware) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.middleware = append(rt.middleware, mw...)
}

// Handle registers a command. Names and aliases must be unique.
func (rt *Router) Handle(c Command) error {
	if c.Name == "" || strings.ContainsFunc(c.Name, isSpace) {
		return fmt.Errorf("commands: invalid command name %q", c.Name)
	}
	if c.Handler == nil {
		return fmt.Errorf("commands: command %q has no handler", c.Name)
	}
	c.Name = strings.ToLower(c.Name)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, n := range append([]string{c.Name}, c.Aliases...) {
		n = strings.ToLower(n)
		if owner, ok := rt.names[n]; ok {
			return fmt.Errorf("commands: %q is already taken by command %q", n, owner)
		}
	}
	cc := c
	rt.commands[c.Name] = &cc
	for _, n := range append([]string{c.Name}, c.Aliases...) {
		rt.names[strings.ToLower(n)] = c.Name
	}
	return nil
}

// MustHandle is Handle that panics on error, for wiring at start-up.
func (rt *Router) MustHandle(c Command) {
	if err := rt.Handle(c); err != nil {
		panic(err)
	}
}

// Add registers every command of a plugin. A plugin that is also a
// bot.Service (work beside the commands, such as the run plugin's
// watcher) is run by the bot that serves this router: see Services.
func (rt *Router) Add(p Plugin) error {
	for _, c := range p.Commands() {
		if err := rt.Handle(c); err != nil {
			return err
		}
	}
	if svc, ok := p.(bot.Service); ok {
		rt.mu.Lock()
		rt.services = append(rt.services, svc)
		rt.mu.Unlock()
	}
	return nil
}

// Services returns the added plugins that are bot.Services; bot.New runs
// them beside the adapters.
func (rt *Router) Services() []bot.Service {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return append([]bot.Service(nil), rt.services...)
}

// Commands returns the registered commands sorted by name.
func (rt *Router) Commands() []Command {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	out := make([]Command, 0, len(rt.commands))
	for _, c := range rt.commands {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds a command by name or alias.
func (rt *Router) Lookup(name string) (Command, bool) {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	c, ok := rt.commands[rt.names[strings.ToLower(name)]]
	if !ok {
		return Command{}, false
	}
	return *c, true
}

// HandleMessage implements bot.Handler: it parses the message, finds the
// command and serves it, turning errors into replies, and logs one line
// per message (see logCommand).
func (rt *Router) HandleMessage(ctx context.Context, w bot.Responder, m bot.Message) {
	start := time.Now()
	if m.Action != "" {
		m.Text = bot.ActionText(m.Action)
	}
	p := Parse(m.Text)
	command, err := rt.dispatch(ctx, w, m)
	switch command {
	case "":
		// Not a command: a greeting or an unknown name, answered with
		// help. The typed name is cut short: it is the user's free text.
		bot.Logger(ctx).Info("not a command", "invoked", firstRunes(p.Name, 32), "duration", time.Since(start).Round(time.Millisecond))
		if err != nil {
			bot.Logger(ctx).Warn("could not answer", "err", err)
		}
	default:
		logCommand(ctx, command, p.Args, start, err)
	}
}

// Dispatch is HandleMessage returning the handler's error (after it has been
// answered) instead of logging it, for callers and tests that want it.
func (rt *Router) Dispatch(ctx context.Context, w bot.Responder, m bot.Message) error {
	_, err := rt.dispatch(ctx, w, m)
	return err
}

// dispatch serves m and returns the canonical name of the command served
// ("" when m named none).
func (rt *Router) dispatch(ctx context.Context, w bot.Responder, m bot.Message) (string, error) {
	if m.Action != "" {
		// A button click: served as the command its ID names.
		m.Text = bot.ActionText(m.Action)
	}
	p := Parse(m.Text)
	if p.Name == "" {
		_, err := w.Reply(ctx, rt.greeting())
		return "", err
	}
	rt.mu.RLock()
	canonical, ok := rt.names[p.Name]
	cmd := rt.commands[canonical]
	mws := rt.middleware
	rt.mu.RUnlock()
	if !ok {
		_, err := w.Reply(ctx, rt.unknown(p.Name))
		return "", err
	}
	req := &Request{Message: m, Command: canonical, Invoked: p.Name, RawArgs: p.Args}
	h := cmd.Handler
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	err := h.ServeCommand(ctx, w, req)
	if err == nil {
		return canonical, nil
	}
	if _, rerr := w.Reply(ctx, rt.errorReply(*cmd, err)); rerr != nil {
		return canonical, errors.Join(err, rerr)
	}
	return canonical, err
}

func firstRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func (rt *Router) errorReply(c Command, err error) bot.Reply {
	var tok *TokenError
	var ue *bot.Refusal
	switch {
	case errors.As(err, &tok):
		return bot.Reply{Status: bot.StatusError, Title: "Could not read the arguments of " + c.Name,
			Text: capitalise(tok.Reason) + ".\nUsage: " + rt.usage(c)}
	case errors.As(err, &ue):
		return ue.Reply()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return bot.Reply{Status: bot.StatusError, Title: c.Name + " was interrupted",
			Text: "The bot stopped working on it before it finished. Try again; if it keeps happening, tell the bot's operators."}
	default:
		return bot.Reply{Status: bot.StatusError, Title: c.Name + " failed",
			Text: capitalise(err.Error()) + "\nThe bot is still running; try again, and tell its operators if it keeps happening."}
	}
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }
