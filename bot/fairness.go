package bot

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// fairness keeps one user's flood of commands from filling every worker
// and the queue: each identity may have a few commands queued or running
// at once, and send them at a bounded rate (a token bucket).
type fairness struct {
	concurrent int
	every      rate.Limit
	burst      int

	mu     sync.Mutex
	users  map[string]*userLoad
	admits int
}

type userLoad struct {
	inFlight int
	limiter  *rate.Limiter
	last     time.Time
}

func newFairness(concurrent int, perMinute float64, burst int) *fairness {
	return &fairness{concurrent: concurrent, every: rate.Limit(perMinute / 60), burst: burst, users: map[string]*userLoad{}}
}

// admit takes a slot for identity, or says why not in words for the user.
func (f *fairness) admit(identity string, now time.Time) (refusal string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.admits++
	if f.admits%1024 == 0 {
		f.forget(now)
	}
	u := f.users[identity]
	if u == nil {
		u = &userLoad{limiter: rate.NewLimiter(f.every, f.burst)}
		f.users[identity] = u
	}
	u.last = now
	if u.inFlight >= f.concurrent {
		return fmt.Sprintf("You already have %d commands running. Wait for one to finish, then send it again.", u.inFlight), false
	}
	if !u.limiter.AllowN(now, 1) {
		return fmt.Sprintf("You sent more than %d commands in a short time. Wait a minute, then send it again.", f.burst), false
	}
	u.inFlight++
	return "", true
}

// exempt counts a command that is not limited (the console's), so that
// done stays balanced.
func (f *fairness) exempt(identity string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[identity]
	if u == nil {
		u = &userLoad{limiter: rate.NewLimiter(f.every, f.burst)}
		f.users[identity] = u
	}
	u.inFlight++
}

// done gives identity's slot back.
func (f *fairness) done(identity string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.users[identity]; u != nil && u.inFlight > 0 {
		u.inFlight--
	}
}

// forget drops idle users whose bucket has refilled, bounding memory.
func (f *fairness) forget(now time.Time) {
	for id, u := range f.users {
		if u.inFlight == 0 && now.Sub(u.last) > 10*time.Minute {
			delete(f.users, id)
		}
	}
}

// notices sends the short replies to commands that were not started
// (busy, slow down, shutting down) without blocking the adapter's read
// loop and without dropping any: notices for one conversation that pile
// up while one is being sent are coalesced into the next.
type notices struct {
	mu      sync.Mutex
	pending map[string]*pendingNotice
}

type pendingNotice struct {
	reply Reply
	count int // commands not yet told, beyond the one being told
}

func newNotices() *notices { return &notices{pending: map[string]*pendingNotice{}} }

// tell sends r to m's conversation, or folds it into a notice already on
// its way there. send is called from a goroutine of its own.
func (n *notices) tell(a Adapter, m Message, r Reply, send func(Reply)) {
	key := a.Name() + "\x00" + m.Conversation.ChannelID + "\x00" + m.Conversation.ThreadID + "\x00" + m.Conversation.Handle + "\x00" + r.Title
	n.mu.Lock()
	if p, ok := n.pending[key]; ok {
		p.count++
		n.mu.Unlock()
		return
	}
	p := &pendingNotice{reply: r}
	n.pending[key] = p
	n.mu.Unlock()
	go func() {
		send(r)
		for {
			n.mu.Lock()
			more := p.count
			p.count = 0
			if more == 0 {
				delete(n.pending, key)
				n.mu.Unlock()
				return
			}
			n.mu.Unlock()
			next := p.reply
			next.Text = fmt.Sprintf("%s\n(This answers %d commands sent here meanwhile.)", next.Text, more)
			send(next)
		}
	}()
}
