package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/chatops-dev/chatops/store"
)

// Runs: one row per run, written with optimistic versions.

// runArgs are r's values in RunColumns order.
func (s *Store) runArgs(r *store.Run) ([]any, error) {
	var notes, answer any
	if len(r.Notes) > 0 {
		var err error
		if notes, err = s.d.Notes(r.Notes); err != nil {
			return nil, fmt.Errorf("encoding notes: %w", err)
		}
	}
	if len(r.Answer) > 0 {
		answer = r.Answer
	}
	return []any{
		r.ID, r.Kind, r.Platform, r.ChannelID, r.ThreadID, r.Direct, r.Handle, r.ReplyID,
		r.Requester, r.UserID, r.GitLabUser, r.Project, r.ProjectID, r.Ref, r.Job, r.Args,
		r.PipelineID, r.PipelineURL, r.JobID, r.JobURL, r.Status, notes, string(r.Phase), s.nullTime(r.Deadline),
		answer, r.Attempts, s.nullTime(r.NextAttempt), s.d.Time(r.CreatedAt), s.d.Time(r.UpdatedAt), r.Version,
		r.Owner, s.nullTime(r.LeaseUntil),
	}, nil
}

// scanRun reads one row of RunColumns, preceded by the columns of extra.
func (s *Store) scanRun(row interface{ Scan(...any) error }, extra ...any) (*store.Run, error) {
	var (
		r     store.Run
		phase string
	)
	dest := append(extra, &r.ID, &r.Kind, &r.Platform, &r.ChannelID, &r.ThreadID, &r.Direct, &r.Handle, &r.ReplyID,
		&r.Requester, &r.UserID, &r.GitLabUser, &r.Project, &r.ProjectID, &r.Ref, &r.Job, &r.Args,
		&r.PipelineID, &r.PipelineURL, &r.JobID, &r.JobURL, &r.Status, s.d.NotesDest(&r.Notes), &phase, s.d.TimeDest(&r.Deadline),
		&r.Answer, &r.Attempts, s.d.TimeDest(&r.NextAttempt), s.d.TimeDest(&r.CreatedAt), s.d.TimeDest(&r.UpdatedAt), &r.Version,
		&r.Owner, s.d.TimeDest(&r.LeaseUntil))
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if len(r.Notes) == 0 {
		r.Notes = nil
	}
	if len(r.Answer) == 0 {
		r.Answer = nil
	}
	r.Phase = store.Phase(phase)
	return &r, nil
}

// CreateRun stores a new run; see store.Store.
func (s *Store) CreateRun(ctx context.Context, r *store.Run) error {
	if r.ID == "" {
		return errors.New("store: creating a run: empty id")
	}
	c := *r
	c.Deadline, c.NextAttempt = store.StoredTime(r.Deadline), store.StoredTime(r.NextAttempt)
	c.CreatedAt = now()
	c.UpdatedAt = c.CreatedAt
	c.Version = 1
	args, err := s.runArgs(&c)
	if err != nil {
		return fmt.Errorf("store: creating run %s: %w", r.ID, err)
	}
	// lease_until (the last column) is the lease's span from the
	// dialect's now, as AcquireRuns sets it, and read back.
	var a Args
	values := make([]string, 0, len(args))
	for _, v := range args[:len(args)-1] {
		values = append(values, a.Add(v))
	}
	values = append(values, s.leaseSQL(&a, r.LeaseUntil))
	err = s.w.QueryRow(ctx, `INSERT INTO runs (`+RunColumns+`) VALUES (`+strings.Join(values, ",")+`)
		ON CONFLICT (id) DO NOTHING RETURNING lease_until`, a.Values()...).Scan(s.d.TimeDest(&c.LeaseUntil))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: creating run %s: %w", r.ID, store.ErrExists)
	case err != nil:
		return fmt.Errorf("store: creating run %s: %w", r.ID, err)
	}
	*r = c
	return nil
}

// SaveRun stores every field of an existing run; see store.Store.
func (s *Store) SaveRun(ctx context.Context, r *store.Run) error {
	c := *r
	c.Deadline, c.NextAttempt = store.StoredTime(r.Deadline), store.StoredTime(r.NextAttempt)
	c.UpdatedAt = now()
	c.Version = r.Version + 1
	args, err := s.runArgs(&c)
	if err != nil {
		return fmt.Errorf("store: saving run %s: %w", r.ID, err)
	}
	// args[:27] are id..next_attempt, in RunColumns order; created_at
	// (args[27]), owner and lease_until (args[30:]) stay as stored: only
	// AcquireRuns and ReleaseRuns move a lease, so a save from a copy read
	// before a renewal or a takeover cannot undo it. RETURNING them: the
	// caller gets the stored values, whatever it had put there.
	var owner string
	err = s.w.QueryRow(ctx, `UPDATE runs SET
		kind = $2, platform = $3, channel_id = $4, thread_id = $5, direct = $6, handle = $7, reply_id = $8,
		requester = $9, user_id = $10, gitlab_user = $11, project = $12, project_id = $13, ref = $14, job = $15, args = $16,
		pipeline_id = $17, pipeline_url = $18, job_id = $19, job_url = $20, status = $21, notes = $22, phase = $23, deadline = $24,
		answer = $25, attempts = $26, next_attempt = $27, updated_at = $28, version = $29
		WHERE id = $1 AND version = $30
		RETURNING created_at, owner, lease_until`,
		append(args[:27:27], args[28], args[29], r.Version)...).
		Scan(s.d.TimeDest(&c.CreatedAt), &owner, s.d.TimeDest(&c.LeaseUntil))
	if errors.Is(err, sql.ErrNoRows) {
		// Nothing updated: no such run, or another version. Runs are never
		// deleted, so the row cannot vanish between the update and this.
		var one int
		err := s.r.QueryRow(ctx, `SELECT 1 FROM runs WHERE id = $1`, r.ID).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: saving run %s: %w", r.ID, store.ErrNotFound)
		case err != nil:
			return fmt.Errorf("store: saving run %s: %w", r.ID, err)
		}
		return fmt.Errorf("store: saving run %s at version %d: %w", r.ID, r.Version, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: saving run %s: %w", r.ID, err)
	}
	c.Owner = owner
	*r = c
	return nil
}

// GetRun returns one run; see store.Store.
func (s *Store) GetRun(ctx context.Context, id string) (*store.Run, error) {
	r, err := s.scanRun(s.r.QueryRow(ctx, `SELECT `+RunColumns+` FROM runs WHERE id = $1`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("store: reading run %s: %w", id, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("store: reading run %s: %w", id, err)
	}
	return r, nil
}

// OpenRuns returns the runs not done, oldest first; see store.Store.
func (s *Store) OpenRuns(ctx context.Context) ([]*store.Run, error) {
	runs, err := s.queryRuns(ctx, `SELECT `+RunColumns+` FROM runs WHERE phase <> 'done' ORDER BY created_at, seq`)
	if err != nil {
		return nil, fmt.Errorf("store: listing open runs: %w", err)
	}
	return runs, nil
}

// ListRuns returns runs matching f, newest first; see store.Store.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]*store.Run, error) {
	var where []string
	var a Args
	if f.Platform != "" {
		where = append(where, "platform = "+a.Add(f.Platform))
	}
	if f.ChannelID != "" {
		where = append(where, "channel_id = "+a.Add(f.ChannelID))
	}
	if f.Requester != "" {
		where = append(where, "requester = "+a.Add(f.Requester))
	}
	if f.Project != "" {
		where = append(where, "project = "+a.Add(f.Project))
	}
	if f.IDPrefix != "" {
		// substr, not LIKE: the prefix is matched as typed, with no
		// wildcard to escape, by both databases alike.
		where = append(where, "substr(id, 1, "+a.Add(len(f.IDPrefix))+") = "+a.Add(f.IDPrefix))
	}
	if f.OpenOnly {
		where = append(where, "phase <> 'done'")
	}
	q := `SELECT ` + RunColumns + ` FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, seq DESC LIMIT " + a.Add(f.EffectiveLimit())
	runs, err := s.queryRuns(ctx, q, a.Values()...)
	if err != nil {
		return nil, fmt.Errorf("store: listing runs: %w", err)
	}
	return runs, nil
}

// queryRuns reads the runs q selects (RunColumns) through the readers.
func (s *Store) queryRuns(ctx context.Context, q string, args ...any) ([]*store.Run, error) {
	rows, err := s.r.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []*store.Run
	for rows.Next() {
		r, err := s.scanRun(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}
