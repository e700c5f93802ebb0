package sqlite

import (
	"context"
	"fmt"

	"github.com/chatops-dev/chatops/store"
)

// Notify and Listen within this process: the file lock makes it the
// database's only user, so there is nobody else to tell.

// listenQueue is how many payloads wait for a slow Listen callback before
// Notify drops further ones for it (best effort, as a PostgreSQL listener
// that is not connected misses them), so one stuck callback neither blocks
// Notify nor grows without bound.
const listenQueue = 256

// Notify hands payload to every Listen of this Store; see store.Store. It
// never waits for a callback: a listener whose queue is full misses the
// payload.
func (s *Store) Notify(ctx context.Context, payload string) error {
	if err := store.CheckPayload(payload); err != nil {
		return fmt.Errorf("store: notifying: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: notifying: %w", err)
	}
	if s.closed.Load() {
		return fmt.Errorf("store: notifying: %s is closed", s.path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.listeners {
		select {
		case ch <- payload:
		default:
		}
	}
	return nil
}

// Listen calls f with the payloads notified through this Store until ctx
// ends or the Store is closed; see store.Store.
func (s *Store) Listen(ctx context.Context, f func(payload string)) error {
	ch := make(chan string, listenQueue)
	s.mu.Lock()
	s.listeners[ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ch)
		s.mu.Unlock()
	}()
	for {
		// Checked first, so a Listen ends promptly even while payloads
		// keep arriving.
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		default:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case p := <-ch:
			f(p)
		}
	}
}
