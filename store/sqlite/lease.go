package sqlite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// listenQueue is how many payloads wait for a slow Listen callback before
// Notify drops further ones for it (best effort, as a PostgreSQL listener
// that is not connected misses them), so one stuck callback neither blocks
// Notify nor grows without bound.
const listenQueue = 256

// checkAcquire refuses arguments that cannot make a lease.
func checkAcquire(owner string, lease time.Duration, limit int) error {
	switch {
	case owner == "":
		return errors.New("empty owner")
	case lease < store.TimePrecision:
		return fmt.Errorf("lease %v is shorter than %v", lease, store.TimePrecision)
	case limit < 1:
		return fmt.Errorf("limit %d is not positive", limit)
	}
	return nil
}

// seqRow scans the seq column before a row of runColumns.
type seqRow struct {
	row interface{ Scan(...any) error }
	seq *int64
}

func (r seqRow) Scan(dest ...any) error { return r.row.Scan(append([]any{r.seq}, dest...)...) }

// AcquireRuns leases open runs to owner; see store.Store. One UPDATE picks
// and leases them: SQLite runs a statement as one write transaction, and
// this Store's single writer connection serializes them, so two owners
// never both get a run. The clock is this process's, the only one using
// the file.
func (s *Store) AcquireRuns(ctx context.Context, owner string, lease time.Duration, limit int) ([]*store.Run, error) {
	if err := checkAcquire(owner, lease, limit); err != nil {
		return nil, fmt.Errorf("store: acquiring runs for %q: %w", owner, err)
	}
	t := time.Now()
	rows, err := s.w.QueryContext(ctx, `UPDATE runs SET owner = ?1, lease_until = ?2
		WHERE seq IN (
			SELECT seq FROM runs
			WHERE phase <> 'done' AND (owner = ?1 OR owner = '' OR lease_until IS NULL OR lease_until <= ?3)
			ORDER BY created_at, seq
			LIMIT ?4)
		RETURNING seq, `+runColumns,
		owner, t.Add(lease).UnixMicro(), t.UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: acquiring runs for %q: %w", owner, err)
	}
	defer rows.Close()
	type seqRun struct {
		seq int64
		run *store.Run
	}
	var got []seqRun
	for rows.Next() {
		var sr seqRun
		if sr.run, err = scanRun(seqRow{rows, &sr.seq}); err != nil {
			return nil, fmt.Errorf("store: acquiring runs for %q: %w", owner, err)
		}
		got = append(got, sr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: acquiring runs for %q: %w", owner, err)
	}
	// RETURNING comes in no defined order.
	slices.SortFunc(got, func(a, b seqRun) int {
		return cmp.Or(a.run.CreatedAt.Compare(b.run.CreatedAt), cmp.Compare(a.seq, b.seq))
	})
	runs := make([]*store.Run, len(got))
	for i, sr := range got {
		runs[i] = sr.run
	}
	return runs, nil
}

// ReleaseRuns ends owner's leases now; see store.Store. A lease already
// lapsed keeps its time.
func (s *Store) ReleaseRuns(ctx context.Context, owner string) error {
	if owner == "" {
		return errors.New("store: releasing runs: empty owner")
	}
	t := time.Now().UnixMicro()
	if _, err := s.w.ExecContext(ctx, `UPDATE runs SET lease_until = ?1
		WHERE owner = ?2 AND phase <> 'done' AND (lease_until IS NULL OR lease_until > ?1)`, t, owner); err != nil {
		return fmt.Errorf("store: releasing the runs of %q: %w", owner, err)
	}
	return nil
}

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
