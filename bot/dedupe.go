package bot

import "sync"

// dedupe remembers the most recent event keys in a fixed-size ring so a
// redelivered event is recognised without unbounded memory.
type dedupe struct {
	mu   sync.Mutex
	seen map[string]struct{}
	ring []string
	next int
}

func newDedupe(size int) *dedupe {
	if size < 1 {
		size = 1
	}
	return &dedupe{seen: make(map[string]struct{}, size), ring: make([]string, size)}
}

// firstTime records key and reports whether it had not been seen among the
// last len(ring) keys.
func (d *dedupe) firstTime(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.seen[key]; ok {
		return false
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.seen, old)
	}
	d.ring[d.next] = key
	d.next = (d.next + 1) % len(d.ring)
	d.seen[key] = struct{}{}
	return true
}
