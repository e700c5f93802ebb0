// Package responseurl keeps the bookkeeping of a slash command's response
// URL, which Slack (response_url) and Mattermost (/hooks/commands/{id})
// both allow a few posts through within a lifetime: what a reply's
// Conversation.Handle carries about it, and how many times this process
// has used it. Posting is the adapters' own business.
package responseurl

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// prefix marks an encoded Handle (version 1), so an adapter can tell it
// from other Handle contents.
const prefix = "r1?"

// Handle is what Conversation.Handle carries for a slash command: the
// response URL, when it was issued, who ran the command, and how many
// times the URL has been used as far as the Sent carrying it knows. All
// of it travels in the Handle so that a reply edited long after, from a
// Sent restored from the store by another process, still follows the
// platform's rules.
type Handle struct {
	URL    string
	Issued time.Time // zero when unknown
	User   string
	Uses   int
}

// Encode is h as a Conversation.Handle.
func (h Handle) Encode() string {
	v := url.Values{"u": {h.URL}, "user": {h.User}, "n": {strconv.Itoa(h.Uses)}}
	if !h.Issued.IsZero() {
		v.Set("at", strconv.FormatInt(h.Issued.UnixMilli(), 10))
	}
	return prefix + v.Encode()
}

// Decode reads a Handle written by Encode; ok is false when s is not one
// (empty, or another form the adapter may know). A damaged one decodes
// to a Handle without URL.
func Decode(s string) (h Handle, ok bool) {
	q, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return Handle{}, false
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return Handle{}, true
	}
	h = Handle{URL: v.Get("u"), User: v.Get("user")}
	h.Uses, _ = strconv.Atoi(v.Get("n"))
	if ms, err := strconv.ParseInt(v.Get("at"), 10, 64); err == nil {
		h.Issued = time.UnixMilli(ms)
	}
	return h, true
}

// Limits are a platform's rules for one response URL, as the adapter
// applies them: it stops before either limit, because the platform may
// have counted an attempt whose answer was lost, and a clock may differ.
type Limits struct {
	// Lifetime is how long after the command the platform accepts posts.
	Lifetime time.Duration
	// Margin is how long before the end of Lifetime the adapter stops.
	Margin time.Duration
	// MaxUses is how many posts the adapter makes through one URL.
	MaxUses int
	// Rule says the platform's rule in errors, e.g. "Slack allows 5
	// within 30 minutes".
	Rule string
}

// ErrUnusable is wrapped by Take's errors: the URL must not be used
// (none, used up or expired); the adapter falls back to another way.
var ErrUnusable = errors.New("response URL unusable")

// Uses counts the uses of response URLs in this process, so that two
// replies carrying the same old Handle do not both believe they have
// uses left. The zero value is ready; it forgets URLs past their
// lifetime, so it stays small.
type Uses struct {
	mu sync.Mutex
	by map[string]use
}

type use struct {
	n    int
	seen time.Time // the URL's issue time, or when first used if unknown
}

// Take reserves one use of h's URL at now if the limits allow it, and
// returns h with Uses counting it. The use is counted whether or not the
// post that follows succeeds: the platform may have counted it.
func (u *Uses) Take(h Handle, lim Limits, now time.Time) (Handle, error) {
	if h.URL == "" {
		return h, fmt.Errorf("%w: no response URL", ErrUnusable)
	}
	if !h.Issued.IsZero() && now.Sub(h.Issued) > lim.Lifetime-lim.Margin {
		return h, fmt.Errorf("%w: issued %s ago (%s)", ErrUnusable, now.Sub(h.Issued).Round(time.Second), lim.Rule)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.by == nil {
		u.by = map[string]use{}
	}
	for k, e := range u.by {
		if now.Sub(e.seen) > lim.Lifetime {
			delete(u.by, k)
		}
	}
	e, known := u.by[h.URL]
	if !known {
		e.seen = h.Issued
		if e.seen.IsZero() {
			e.seen = now
		}
	}
	n := max(h.Uses, e.n)
	if n >= lim.MaxUses {
		return h, fmt.Errorf("%w: used %d times (%s)", ErrUnusable, n, lim.Rule)
	}
	e.n = n + 1
	u.by[h.URL] = e
	h.Uses = e.n
	return h, nil
}

// ScrubError returns err, as an http.Client returned it for a post to a
// response URL, without the URL in its text: Go's *url.Error quotes the
// whole URL, which is a credential (whoever has it may post in the
// channel until it expires), and the bot logs errors. What is left names
// the operation, the URL's host and the underlying error, which it still
// wraps. Other errors are returned as they are.
func ScrubError(err error) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	host := "the response URL"
	if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
		host = u.Host
	}
	return fmt.Errorf("%s to %s: %w", ue.Op, host, ue.Err)
}
