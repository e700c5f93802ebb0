package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chatops-dev/chatops/store"
)

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

// AcquireRuns leases open runs to owner; see store.Store. One statement,
// the dialect's, picks and leases them (see Dialect.AcquireRuns for why
// it is safe on each database).
func (s *Store) AcquireRuns(ctx context.Context, owner string, lease time.Duration, limit int) ([]*store.Run, error) {
	if err := checkAcquire(owner, lease, limit); err != nil {
		return nil, fmt.Errorf("store: acquiring runs for %q: %w", owner, err)
	}
	var a Args
	q := s.d.AcquireRuns(&a, owner, lease, limit)
	rows, err := s.w.Query(ctx, q, a.Values()...)
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
		if sr.run, err = s.scanRun(rows, &sr.seq); err != nil {
			return nil, fmt.Errorf("store: acquiring runs for %q: %w", owner, err)
		}
		got = append(got, sr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: acquiring runs for %q: %w", owner, err)
	}
	// RETURNING comes in no defined order (a dialect may sort already;
	// sorting sorted rows costs little).
	slices.SortFunc(got, func(a, b seqRun) int {
		return cmp.Or(a.run.CreatedAt.Compare(b.run.CreatedAt), cmp.Compare(a.seq, b.seq))
	})
	runs := make([]*store.Run, len(got))
	for i, sr := range got {
		runs[i] = sr.run
	}
	return runs, nil
}

// ReleaseRuns ends owner's leases now, by the dialect's clock; see
// store.Store. A lease already lapsed keeps its time.
func (s *Store) ReleaseRuns(ctx context.Context, owner string) error {
	if err := s.release(ctx, "runs", "phase <> 'done'", owner); err != nil {
		return fmt.Errorf("store: releasing the runs of %q: %w", owner, err)
	}
	return nil
}

// release ends owner's leases on the rows of table meeting live (SQL
// without arguments) now, by the dialect's clock. Owner stays, as a
// record of who held them last.
func (s *Store) release(ctx context.Context, table, live, owner string) error {
	if owner == "" {
		return errors.New("empty owner")
	}
	var a Args
	o, now := a.Add(owner), s.d.Now(&a)
	_, err := s.w.Exec(ctx, `UPDATE `+table+` SET lease_until = `+now+`
		WHERE owner = `+o+` AND `+live+` AND (lease_until IS NULL OR lease_until > `+now+`)`, a.Values()...)
	return err
}
