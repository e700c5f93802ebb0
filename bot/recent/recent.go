// Package recent remembers the most recent keys in a fixed-size ring, so a
// repeated event (a redelivered chat event, a retried webhook) is
// recognised without unbounded memory.
package recent

import "sync"

// Set holds the last n keys added. It is safe for concurrent use.
type Set struct {
	mu   sync.Mutex
	seen map[string]struct{}
	ring []string
	next int
}

// New returns a Set that remembers the last n keys (at least 1).
func New(n int) *Set {
	n = max(n, 1)
	return &Set{seen: make(map[string]struct{}, n), ring: make([]string, n)}
}

// Add records key and reports whether it was not among the last n keys.
func (s *Set) Add(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[key]; ok {
		return false
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.seen, old)
	}
	s.ring[s.next] = key
	s.next = (s.next + 1) % len(s.ring)
	s.seen[key] = struct{}{}
	return true
}
