package identity

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/store"
)

// A device flow's wait for the user's approval (up to the device code's
// lifetime, often 5 to 15 minutes) happens here, in the plugin's
// bot.Service, not in the `link` handler: a handful of users linking at
// once would otherwise hold every worker of the bot.
//
// A pending link is stored state, like a run: the handler stores it
// (store.PendingLink, the device code sealed) before posting the
// verification link and hands it over; the service leases it in the store
// (AcquirePendingLinks, renewed every third of the lease), polls GitLab
// and tells the user how it ended (complete.go). A link pending when the
// process stops stays stored: the next process, or another replica once
// the lease lapses (at once after a clean stop, which releases it),
// resumes polling and answers in the stored conversation. An answer is
// stored before it is delivered (complete.go): a link whose answer is
// stored but whose answerer stopped before deleting it is acquired like
// any other, and its stored answer delivered, even after it expired.

// waits is the service's state, guarded by mu.
type waits struct {
	mu      sync.Mutex
	serving bool
	stopped bool
	// wake asks the service to acquire now (a link was handed over).
	wake chan struct{}
	// creating holds the ids of links a handler has stored but not yet
	// handed over (it may still change where they answer): the service
	// leases them but does not poll them yet.
	creating map[string]bool
	// handed holds links handed over and not yet polled, as the handler
	// left them.
	handed map[string]*store.PendingLink
	// polling holds the running polls by link id; finished the ids of
	// links whose poll ended, so a lease round that read them before
	// they were deleted does not start them again.
	polling  map[string]context.CancelFunc
	finished map[string]bool
	// acquired is closed after the service's first lease round; ended is
	// closed (and replaced) whenever a poll ends.
	acquired chan struct{}
	ended    chan struct{}
}

func (w *waits) init() {
	if w.wake == nil {
		w.wake = make(chan struct{}, 1)
		w.creating = map[string]bool{}
		w.handed = map[string]*store.PendingLink{}
		w.polling = map[string]context.CancelFunc{}
		w.finished = map[string]bool{}
		w.acquired = make(chan struct{})
		w.ended = make(chan struct{})
	}
}

// reserve counts a link a handler is about to store; false when this
// process polls MaxPending links already.
func (p *Plugin) reserve(id string) bool {
	w := &p.waits
	w.mu.Lock()
	defer w.mu.Unlock()
	w.init()
	if len(w.creating)+len(w.handed)+len(w.polling) >= p.opts.MaxPending {
		return false
	}
	w.creating[id] = true
	return true
}

// unreserve forgets a link the handler gave up (and deleted).
func (p *Plugin) unreserve(id string) {
	w := &p.waits
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.creating, id)
	w.signal()
}

// signal wakes Drain: a link stopped counting (w.mu held).
func (w *waits) signal() {
	close(w.ended)
	w.ended = make(chan struct{})
}

// handOver gives the stored link l to the service, which polls it from
// its next lease round, asked for at once. With the service stopped (the
// process is stopping) the link stays stored for the next process.
func (p *Plugin) handOver(l *store.PendingLink) {
	w := &p.waits
	w.mu.Lock()
	defer w.mu.Unlock()
	w.init()
	delete(w.creating, l.ID)
	if w.stopped {
		return
	}
	w.handed[l.ID] = l
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Serve implements bot.Service: it leases the stored pending links (this
// process's, and those whose owner's lease lapsed), polls GitLab for each
// until ctx ends, then stops the polls (without a word to their users:
// the links stay stored for the next owner), releases the leases and
// returns. Serve runs once per Plugin.
func (p *Plugin) Serve(ctx context.Context, out bot.Messenger) error {
	w := &p.waits
	w.mu.Lock()
	w.init()
	if w.serving {
		w.mu.Unlock()
		return errors.New("identity: the plugin's service is already running")
	}
	w.serving = true
	w.mu.Unlock()
	if p.oauth == nil {
		<-ctx.Done() // linking is off: nothing is ever pending
		return nil
	}
	var polls sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	first := true
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-timer.C:
			timer.Reset(p.opts.Lease / 3)
		case <-w.wake:
		}
		p.leaseRound(ctx, out, &polls)
		if first {
			first = false
			close(w.acquired)
		}
	}
	w.mu.Lock()
	w.stopped = true
	for _, cancel := range w.polling {
		cancel()
	}
	w.mu.Unlock()
	polls.Wait()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := p.opts.Store.ReleasePendingLinks(rctx, p.opts.Owner); err != nil {
		p.opts.Logger.Warn("could not release this process's pending links; others take them when the leases lapse", "err", err)
	}
	return nil
}

// expiredUnpolled tells a user whose pending link expired while no
// process polled it.
var expiredUnpolled = (&bot.Refusal{Title: "The link expired",
	Text: "It was not approved in time, or chatops was not running to see it. Send `link` again for a new one."}).Reply()

// leaseRound answers expired links, leases (and renews) this process's
// share and starts polling the new ones, or delivering the answers stored
// for them; a poll whose link another process took over (this one's lease
// lapsed) is stopped: that one answers it.
func (p *Plugin) leaseRound(ctx context.Context, out bot.Messenger, polls *sync.WaitGroup) {
	log := p.opts.Logger
	p.answerExpired(ctx)
	w := &p.waits
	// Only links handed over before the statement can be missing from its
	// result because they are gone; later ones wait for the next round.
	w.mu.Lock()
	before := make(map[string]bool, len(w.handed))
	for id := range w.handed {
		before[id] = true
	}
	w.mu.Unlock()
	links, err := p.opts.Store.AcquirePendingLinks(ctx, p.opts.Owner, p.opts.Lease, p.opts.MaxPending)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("could not acquire pending links from the store; will retry", "err", err)
		}
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	held := make(map[string]bool, len(links))
	for _, l := range links {
		held[l.ID] = true
		if w.polling[l.ID] != nil || w.creating[l.ID] {
			continue
		}
		if w.finished[l.ID] {
			if l.Answer != nil {
				// Told by this process, and still stored: its delete
				// failed, or this round read the row before it. Deleting
				// again is harmless; leaving it, another process would
				// tell the user again once this one stops.
				polls.Go(func() { p.forget(ctx, l, log.With("identity", l.Identity, "link", l.ID)) })
			}
			continue
		}
		if h := w.handed[l.ID]; h != nil {
			// The handler's copy: it knows where the link was posted
			// even if this round read the row before it was saved.
			h.Owner, h.LeaseUntil, h.Answer = l.Owner, l.LeaseUntil, l.Answer
			l = h
			delete(w.handed, l.ID)
		} else if l.Answer == nil {
			log.Info("resuming a pending link", "identity", l.Identity, "link", l.ID, "owner", p.opts.Owner)
		}
		pctx, cancel := context.WithCancel(ctx)
		w.polling[l.ID] = cancel
		polls.Go(func() {
			defer cancel()
			var settled bool
			if l.Answer != nil {
				settled = p.deliverStored(pctx, out, l)
			} else {
				settled = p.complete(pctx, out, l)
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			delete(w.polling, l.ID)
			if settled {
				w.finished[l.ID] = true
			} // else the next round polls it again, if still this process's
			w.signal()
		})
	}
	for id, cancel := range w.polling {
		if !held[id] {
			// Not acquired again: it expired (its poll ends on that by
			// itself), it was deleted (finished by its poll or elsewhere),
			// or its lease lapsed and another process took it over.
			log.Info("stopped polling a pending link this process no longer holds (expired, finished or taken over)", "link", id)
			cancel()
		}
	}
	for id := range w.finished {
		if !held[id] {
			delete(w.finished, id) // gone from the store
		}
	}
	for id := range w.handed {
		if before[id] && !held[id] {
			// Deleted, expired or taken over since it was handed over.
			delete(w.handed, id)
			w.signal()
		}
	}
}

// answerExpired answers the expired links nobody polls (every process
// was down, or its owner died late), so that their users learn how they
// ended: the answer is stored (leased to this process, which the same
// round acquires and delivers, see deliverStored), never just deleted, so
// a crash before it is told loses nothing. Of several processes answering
// one link, AnswerPendingLink lets one store its answer.
func (p *Plugin) answerExpired(ctx context.Context) {
	log := p.opts.Logger
	expired, err := p.opts.Store.ExpiredPendingLinks(ctx)
	if err != nil {
		log.Warn("could not read expired pending links", "err", err)
		return
	}
	for _, l := range expired {
		llog := log.With("identity", l.Identity, "link", l.ID)
		reply := expiredUnpolled
		if id, err := p.opts.Store.GetIdentity(ctx, l.Identity); err == nil && !id.LinkedAt.Before(l.CreatedAt.Add(-clockSlack)) {
			// Its owner recorded the link while its lease lapsed (a
			// paused process) and has not answered yet.
			reply = linked(id.GitLabUsername)
		}
		answer, _ := json.Marshal(reply) // a Reply is plain data: it always encodes
		won, err := p.opts.Store.AnswerPendingLink(ctx, l.ID, answer, p.opts.Owner, p.opts.Lease)
		switch {
		case err != nil:
			llog.Warn("could not answer an expired pending link; will retry", "err", err)
		case won:
			llog.Info("pending link expired while no process polled it; telling its user", "outcome", reply.Title)
		}
	}
}

// deliverStored delivers the answer stored for l, whose answerer (this
// process's expiry round, or a process that stopped before telling) left
// it, and deletes l. It reports whether l is settled.
func (p *Plugin) deliverStored(ctx context.Context, out bot.Messenger, l *store.PendingLink) bool {
	log := p.opts.Logger.With("identity", l.Identity, "link", l.ID)
	r, err := storedAnswer(l)
	if err != nil {
		log.Error("the stored answer of a pending link cannot be read; telling its user it ended", "err", err)
		r = lostAnswer
	}
	log.Info("delivering the stored answer of a pending link", "outcome", r.Title, "owner", p.opts.Owner)
	return p.tell(ctx, out, l, log, r)
}

// Drain implements bot.Drainer: when the adapters stopped by themselves
// (the terminal at end of input), the links this process polls or was
// handed are waited for, bounded by ctx, so `printf 'link\n' | chatops`
// still links.
func (p *Plugin) Drain(ctx context.Context) {
	if p.oauth == nil {
		return
	}
	w := &p.waits
	w.mu.Lock()
	w.init()
	acquired := w.acquired
	w.mu.Unlock()
	select {
	case <-acquired:
	case <-ctx.Done():
		return
	}
	for {
		w.mu.Lock()
		n := len(w.polling) + len(w.handed) + len(w.creating)
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
