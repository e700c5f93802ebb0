package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/retry"
)

// A device flow's wait for the user's approval (up to the device code's
// lifetime, often 5 to 15 minutes) happens here, in the plugin's
// bot.Service, not in the `link` handler: a handful of users linking at
// once would otherwise hold every worker of the bot. The handler posts the
// verification link and hands the flow over; the service polls GitLab and
// tells the user how it ended, through the bot's Messenger, in the
// conversation where the link was posted. Pending flows live in memory
// only: one pending when the process stops is lost (the user sends `link`
// again), since the device code is short-lived and worthless to a new
// process that never showed its link.

const (
	// maxWait bounds a flow whose device code came without a lifetime.
	maxWait = 30 * time.Minute
	// finishTimeout bounds recording a granted link and saying so once
	// the token is in hand, even while the bot stops: a token GitLab
	// issued should not be left unrecorded.
	finishTimeout = 30 * time.Second
	// deliverFor is how long telling the user the outcome is retried.
	deliverFor = 2 * time.Minute
)

// pending is a device flow whose link was posted and whose approval is
// awaited.
type pending struct {
	identity string
	platform string
	to       bot.Conversation
	da       *oauth2.DeviceAuthResponse
	log      *slog.Logger
}

// waits holds the service's state: the pending flows run as goroutines of
// the service, under its context.
type waits struct {
	mu      sync.Mutex
	ctx     context.Context // the service's; nil until Serve runs
	out     bot.Messenger
	queued  []pending // handed over before Serve ran
	stopped bool
	// running counts the flows' goroutines; ended is closed (and
	// replaced) whenever one ends. A count rather than a WaitGroup: Drain
	// may wait while Serve still starts the queued flows.
	running int
	ended   chan struct{}
}

// wait waits until no flow is running (and, with queued, none is queued
// either) or ctx ends.
func (w *waits) wait(ctx context.Context, queued bool) {
	for {
		w.mu.Lock()
		n := w.running
		if queued {
			n += len(w.queued)
		}
		if w.ended == nil {
			w.ended = make(chan struct{})
		}
		ended := w.ended
		w.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-ended:
		case <-ctx.Done():
			return
		}
	}
}

// Serve implements bot.Service: it runs the pending links' waits until
// ctx ends, then ends them (without a word to their users: the process is
// stopping) and returns once they have. Serve runs once per Plugin.
func (p *Plugin) Serve(ctx context.Context, out bot.Messenger) error {
	w := &p.waits
	w.mu.Lock()
	if w.ctx != nil {
		w.mu.Unlock()
		return errors.New("identity: the plugin's service is already running")
	}
	w.ctx, w.out = ctx, out
	for _, pl := range w.queued {
		p.startLocked(pl)
	}
	w.queued = nil
	w.mu.Unlock()
	<-ctx.Done()
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	// The flows see ctx end: they stop polling at once.
	w.wait(context.Background(), false)
	return nil
}

// Drain implements bot.Drainer: when the adapters stopped by themselves
// (the terminal at end of input), the links still pending are waited for,
// bounded by ctx, so `printf 'link\n' | chatops` still links.
func (p *Plugin) Drain(ctx context.Context) { p.waits.wait(ctx, true) }

// await hands pl over to the service. It reports false when the service
// has stopped (the bot is stopping): then nobody waits for the approval.
func (p *Plugin) await(pl pending) bool {
	w := &p.waits
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.stopped:
		return false
	case w.ctx == nil:
		// The bot starts its services beside the adapters: a message can
		// be handled before Serve has run.
		w.queued = append(w.queued, pl)
	default:
		p.startLocked(pl)
	}
	return true
}

// startLocked runs pl's wait under the service's context (w.mu held).
func (p *Plugin) startLocked(pl pending) {
	w := &p.waits
	ctx, out := w.ctx, w.out
	w.running++
	go func() {
		defer func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.running--
			if w.ended != nil {
				close(w.ended)
			}
			w.ended = make(chan struct{})
		}()
		p.complete(ctx, out, pl)
	}()
}

// complete waits for the user's decision in GitLab, bounded by the device
// code's lifetime, records the link when granted, and tells the user.
// The identity is free to link again before the user is told, so a
// `link` sent on reading the outcome starts a new flow.
func (p *Plugin) complete(ctx context.Context, out bot.Messenger, pl pending) {
	deadline := pl.da.Expiry
	if deadline.IsZero() {
		deadline = time.Now().Add(maxWait)
	}
	wctx, cancel := context.WithDeadline(p.oauthContext(ctx), deadline)
	tok, err := p.oauth.DeviceAccessToken(wctx, pl.da)
	cancel()
	if err != nil && ctx.Err() != nil {
		p.end(pl.identity)
		pl.log.Info("pending link dropped: the bot is stopping; the user sends link again")
		return
	}
	if err != nil {
		p.end(pl.identity)
		reply := flowEnded(err)
		pl.log.Info("link not completed", "outcome", reply.Title, "err", describe(err))
		p.deliver(ctx, out, pl, reply)
		return
	}
	// The token is GitLab's grant: record it and say so even when the bot
	// is stopping meanwhile, within a bound.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	reply := p.record(fctx, pl, tok)
	p.end(pl.identity)
	p.deliver(fctx, out, pl, reply)
}

// record reads whose token tok is and saves the link, returning what to
// tell the user.
func (p *Plugin) record(ctx context.Context, pl pending, tok *oauth2.Token) bot.Reply {
	u, err := p.currentUser(p.oauthContext(ctx), tok)
	if err != nil {
		pl.log.Warn("link not recorded: GitLab did not say whose the token is", "err", err)
		return (&bot.Refusal{Title: "GitLab did not say who you are", Text: "The link was not recorded: " + err.Error() + ". Try `link` again."}).Reply()
	}
	if err := p.save(ctx, pl.identity, u.ID, u.Username, tok, time.Now()); err != nil {
		pl.log.Error("link not recorded", "gitlab_user", u.Username, "err", err)
		return bot.Reply{Status: bot.StatusError, Title: "link failed",
			Text: "GitLab approved, but the bot could not record the link. Try `link` again, and tell the bot's operators if it keeps happening."}
	}
	pl.log.Info("chat identity linked to GitLab", "identity", pl.identity, "gitlab_user", u.Username, "gitlab_user_id", u.ID)
	return bot.Reply{Status: bot.StatusSuccess, Title: "Linked to GitLab user " + u.Username,
		Text: "Pipelines you start from chat are now created as " + u.Username + ", with your GitLab rights. `unlink` undoes it."}
}

// deliver posts r where the link was posted, retrying a platform's bad
// minute for a bounded time.
func (p *Plugin) deliver(ctx context.Context, out bot.Messenger, pl pending, r bot.Reply) {
	deadline := time.Now().Add(deliverFor)
	backoff := retry.Backoff{Min: 250 * time.Millisecond, Max: 10 * time.Second}
	for attempt := 0; ; attempt++ {
		_, err := out.Send(ctx, pl.platform, pl.to, r)
		if err == nil {
			return
		}
		wait := backoff.Wait(attempt)
		if bot.IsPermanent(err) || time.Now().Add(wait).After(deadline) || !retry.Sleep(ctx, wait) {
			pl.log.Warn("could not tell the user how their link ended", "outcome", r.Title, "attempts", attempt+1, "err", err)
			return
		}
	}
}

// flowEnded says how a device flow ended without a token.
func flowEnded(err error) bot.Reply {
	var re *oauth2.RetrieveError
	code := ""
	if errors.As(err, &re) {
		code = re.ErrorCode
	}
	var r bot.Refusal
	switch {
	case code == "access_denied":
		r = bot.Refusal{Title: "Link declined", Text: "You declined in GitLab; nothing was linked."}
	case code == "expired_token" || errors.Is(err, context.DeadlineExceeded):
		r = bot.Refusal{Title: "The link expired", Text: "It was not approved in time. Send `link` again for a new one."}
	default:
		r = bot.Refusal{Title: "GitLab did not complete the link", Text: fmt.Sprintf("%s. Try `link` again.", describe(err))}
	}
	return r.Reply()
}
