// Package allow is the adapters' allowlist of workspaces, teams or guilds
// the bot answers in: events from anywhere else are ignored, and each
// such source is logged once, so an invitation to a foreign server cannot
// make the bot run jobs there, nor flood the log.
package allow

import (
	"log/slog"
	"sync"
)

// maxWarned bounds the sources remembered as already logged.
const maxWarned = 1024

// List is an allowlist. The zero List and one built from no ids allow
// everything. It is safe for concurrent use.
type List struct {
	ids  map[string]bool
	what string
	log  *slog.Logger

	mu     sync.Mutex
	warned map[string]bool
}

// New returns a List of ids; what names them in logs ("Slack workspace").
func New(ids []string, what string, log *slog.Logger) *List {
	l := &List{what: what, log: log, warned: map[string]bool{}}
	if len(ids) > 0 {
		l.ids = make(map[string]bool, len(ids))
		for _, id := range ids {
			l.ids[id] = true
		}
	}
	return l
}

// Allows reports whether an event from source may be handled. An empty
// source (a direct message, which belongs to no workspace) is allowed:
// the sender's identity is still checked like anyone's.
func (l *List) Allows(source string) bool {
	if l == nil || l.ids == nil || source == "" || l.ids[source] {
		return true
	}
	l.mu.Lock()
	first := !l.warned[source]
	if first {
		if len(l.warned) >= maxWarned {
			clear(l.warned)
		}
		l.warned[source] = true
	}
	l.mu.Unlock()
	if first && l.log != nil {
		l.log.Warn("ignoring events from a "+l.what+" not in the allowlist", "id", source)
	}
	return false
}
