// Package keyedlock serialises work per key: the chat adapters send one
// reply at a time per conversation, so a conversation's replies keep their
// order (also through rate limits) while other conversations proceed.
package keyedlock

import (
	"context"
	"sync"
)

// Map is a set of per-key mutexes that can be waited on with a context;
// entries are dropped when nobody holds or waits for them, so memory is
// bounded by the keys in use. The zero value is ready to use.
type Map struct {
	mu sync.Mutex
	m  map[string]*keyEntry
}

type keyEntry struct {
	ch    chan struct{} // holds a token while locked
	users int
}

// Lock waits until key is free or ctx ends, and returns the unlock func.
func (k *Map) Lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyEntry{ch: make(chan struct{}, 1)}
		k.m[key] = e
	}
	e.users++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		e.users--
		if e.users == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case e.ch <- struct{}{}:
		return func() { <-e.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
