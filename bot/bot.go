package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatops-dev/chatops/bot/recent"
)

// Options tune the Bot. The zero value of each field picks the default.
type Options struct {
	// Workers bounds how many messages are handled at once (default 64).
	// Following a run holds no worker: services do that.
	Workers int
	// Queue bounds messages waiting for a worker (default 256). When it is
	// full the sender is told the bot is busy rather than left unanswered.
	Queue int
	// PerUserConcurrent bounds the commands one identity may have queued
	// or running at once (default 4): one user's flood cannot fill every
	// worker and the queue.
	PerUserConcurrent int
	// PerUserPerMinute and PerUserBurst rate-limit one identity's
	// commands (defaults 30 a minute, bursts of 10).
	PerUserPerMinute float64
	PerUserBurst     int
	// DedupeSize is how many recent event ids are remembered in memory
	// (default 4096).
	DedupeSize int
	// Claims, when set, also records every event id durably (the store),
	// so a redelivery after a restart, or the same event seen by another
	// process sharing the store, is dropped. When it fails the event is
	// handled anyway: a doubled command is better than a lost one.
	Claims Claimer
	// ClaimTTL is how long a claim counts (default 24h).
	ClaimTTL time.Duration
	// Services run beside the adapters (the run watcher). A handler that
	// has services of its own (commands.Router, for its plugins) adds them.
	Services []Service
	// ShutdownGrace is how long in-flight commands may run on after a
	// shutdown signal before they are cut (default 30s).
	ShutdownGrace time.Duration
	// DrainTimeout bounds the wait for in-flight commands, then for the
	// services' owed answers (Drainer), once every adapter has stopped by
	// itself, as the terminal does at end of input (default 1h).
	DrainTimeout time.Duration
	// SendRetryFor is how long a failed reply is retried (default 2m).
	SendRetryFor time.Duration
	// Logger receives the bot's logs (default slog.Default()).
	Logger *slog.Logger
	// Observer, when set, is told about duplicates, refusals and adapter
	// states (metrics).
	Observer Observer
}

func (o *Options) setDefaults() {
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.DedupeSize <= 0 {
		o.DedupeSize = 4096
	}
	if o.PerUserConcurrent <= 0 {
		o.PerUserConcurrent = 4
	}
	if o.PerUserPerMinute <= 0 {
		o.PerUserPerMinute = 30
	}
	if o.PerUserBurst <= 0 {
		o.PerUserBurst = 10
	}
	if o.ClaimTTL <= 0 {
		o.ClaimTTL = 24 * time.Hour
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 30 * time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = time.Hour
	}
	if o.SendRetryFor <= 0 {
		o.SendRetryFor = 2 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Bot runs adapters and hands the messages addressed to it to a Handler.
type Bot struct {
	adapters []Adapter
	handler  Handler
	opts     Options
	seen     *recent.Set
	queue    chan job
	reqID    atomic.Uint64
	fair     *fairness
	notices  *notices

	acceptMu  sync.RWMutex
	accepting bool
}

type job struct {
	adapter Adapter
	msg     Message
	log     *slog.Logger
}

// New returns a Bot that serves h on every adapter.
func New(h Handler, opts Options, adapters ...Adapter) *Bot {
	opts.setDefaults()
	return &Bot{
		adapters: adapters,
		handler:  h,
		opts:     opts,
		seen:     recent.New(opts.DedupeSize),
		queue:    make(chan job, opts.Queue),
		fair:     newFairness(opts.PerUserConcurrent, opts.PerUserPerMinute, opts.PerUserBurst),
		notices:  newNotices(),
	}
}

// States reports each adapter's connection state, by adapter name, for
// adapters that report one.
func (b *Bot) States() map[string]ConnState {
	out := make(map[string]ConnState)
	for _, a := range b.adapters {
		if s, ok := a.(StateReporter); ok {
			out[a.Name()] = s.State()
		}
	}
	return out
}

// Run serves until ctx ends (a shutdown signal) or every adapter has
// stopped by itself. On a signal, commands in flight get ShutdownGrace to
// finish and are then cut, their senders told so; when the adapters stop by
// themselves, queued and in-flight commands are finished first. Run returns
// the first adapter error, if any.
func (b *Bot) Run(ctx context.Context) error {
	if len(b.adapters) == 0 {
		return errors.New("bot: no adapters configured")
	}
	// Handlers run under workCtx, which outlives ctx by the grace period so
	// a shutdown lets them finish.
	workCtx, cutWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cutWork()

	b.acceptMu.Lock()
	b.accepting = true
	b.acceptMu.Unlock()

	var workers sync.WaitGroup
	for range b.opts.Workers {
		workers.Go(func() {
			for j := range b.queue {
				b.handle(workCtx, j)
				b.fair.done(j.msg.Identity())
			}
		})
	}

	// Services outlive the adapters: they still deliver answers while
	// handlers drain, and stop last.
	svcCtx, stopServices := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServices()
	var services sync.WaitGroup
	svcs := b.services()
	for _, svc := range svcs {
		services.Go(func() {
			if err := svc.Serve(svcCtx, b); err != nil && svcCtx.Err() == nil {
				b.opts.Logger.Error("service stopped", "service", fmt.Sprintf("%T", svc), "err", err)
			}
		})
	}

	adapterCtx, stopAdapters := context.WithCancel(ctx)
	defer stopAdapters()
	if b.opts.Observer != nil {
		go b.reportStates(adapterCtx)
	}
	errs := make(chan error, len(b.adapters))
	for _, a := range b.adapters {
		go func() {
			deliver := func(m Message) { b.deliver(ctx, a, m) }
			err := a.Run(adapterCtx, deliver)
			if err != nil {
				err = fmt.Errorf("adapter %s: %w", a.Name(), err)
				b.opts.Logger.Error("adapter stopped", "adapter", a.Name(), "err", err)
			}
			errs <- err
		}()
	}
	var firstErr error
	for range b.adapters {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}

	b.acceptMu.Lock()
	b.accepting = false
	close(b.queue)
	b.acceptMu.Unlock()

	wait := b.opts.DrainTimeout
	if ctx.Err() != nil {
		wait = b.opts.ShutdownGrace
		b.opts.Logger.Info("shutting down", "grace", wait)
	}
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		b.opts.Logger.Warn("cutting in-flight commands", "waited", wait)
		cutWork()
		// Handlers see their context end; give them a moment to say so.
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			b.opts.Logger.Error("handlers did not stop after being cut")
		}
	}
	if ctx.Err() == nil {
		// The adapters ended by themselves: answers owed to their users
		// (runs still going) are waited for, bounded.
		dctx, cancel := context.WithTimeout(context.Background(), b.opts.DrainTimeout)
		for _, svc := range svcs {
			if d, ok := svc.(Drainer); ok {
				d.Drain(dctx)
			}
		}
		cancel()
	}
	stopServices()
	services.Wait()
	return firstErr
}

// services are Options.Services and the handler's own, if it has any
// (commands.Router has its plugins').
func (b *Bot) services() []Service {
	svcs := b.opts.Services
	if hs, ok := b.handler.(interface{ Services() []Service }); ok {
		svcs = append(hs.Services(), svcs...)
	}
	return svcs
}

// handle runs the handler for one message, recovering panics.
func (b *Bot) handle(workCtx context.Context, j job) {
	w := &responder{adapter: j.adapter, to: j.msg.Conversation, retryFor: b.opts.SendRetryFor, log: j.log}
	if workCtx.Err() != nil {
		// Still queued when the grace period ended: never started.
		nctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w.retryFor = 5 * time.Second
		_, _ = w.Reply(nctx, Reply{Status: StatusError, Title: "chatops is shutting down",
			Text: "Your command was not run. Send it again in a minute, when the bot is back."})
		return
	}
	ctx := WithLogger(workCtx, j.log)
	start := time.Now()
	panicked := b.callHandler(ctx, w, j)
	if workCtx.Err() != nil && !panicked && !w.answered.Load() {
		// The bot cut this command at shutdown before it answered; the
		// handler may not have been able to say so. Tell the sender with
		// a fresh context. (One that answered and was cut in what it did
		// after owes nothing more: a second, contradicting note would
		// only confuse.)
		nctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w.retryFor = 5 * time.Second
		_, _ = w.Reply(nctx, Reply{Status: StatusError, Title: "chatops shut down while working on your command",
			Text: "Anything it had started (such as a GitLab pipeline) keeps running; check it there, or ask again when the bot is back."})
	}
	// The router logs the command's one line; this is for tracing.
	j.log.Debug("handled", "duration", time.Since(start).Round(time.Millisecond))
}

func (b *Bot) callHandler(ctx context.Context, w Responder, j job) (panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			panicked = true
			j.log.Error("handler panicked", "panic", p, "stack", string(debug.Stack()))
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_, _ = w.Reply(rctx, Reply{Status: StatusError, Title: "Internal error",
				Text: "chatops hit a bug while handling your command and has logged it. The bot is still running; try again, and tell its operators if it keeps happening."})
		}
	}()
	b.handler.HandleMessage(ctx, w, j.msg)
	return false
}

type loggerKey struct{}

// WithLogger returns ctx carrying log, so handlers log with the request's
// attributes (request id, adapter, user).
func WithLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// Logger returns the logger carried by ctx, or slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
