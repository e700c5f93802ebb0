package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/chatops-dev/chatops/store"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Runs: one row per run, written with optimistic versions.

const runColumns = `id, kind, platform, channel_id, thread_id, direct, handle, reply_id,
	requester, user_id, gitlab_user, project, project_id, ref, job, args,
	pipeline_id, pipeline_url, job_id, job_url, status, notes, phase, deadline,
	answer, attempts, next_attempt, created_at, updated_at, version, owner, lease_until`

// runArgs are r's values in runColumns order.
func runArgs(r *store.Run) ([]any, error) {
	var notes any
	if len(r.Notes) > 0 {
		b, err := json.Marshal(r.Notes)
		if err != nil {
			return nil, fmt.Errorf("encoding notes: %w", err)
		}
		notes = string(b)
	}
	var answer any
	if len(r.Answer) > 0 {
		answer = r.Answer
	}
	return []any{
		r.ID, r.Kind, r.Platform, r.ChannelID, r.ThreadID, r.Direct, r.Handle, r.ReplyID,
		r.Requester, r.UserID, r.GitLabUser, r.Project, r.ProjectID, r.Ref, r.Job, r.Args,
		r.PipelineID, r.PipelineURL, r.JobID, r.JobURL, r.Status, notes, string(r.Phase), micros(r.Deadline),
		answer, r.Attempts, micros(r.NextAttempt), micros(r.CreatedAt), micros(r.UpdatedAt), r.Version,
		r.Owner, micros(r.LeaseUntil),
	}, nil
}

// scanRun reads one row of runColumns.
func scanRun(row interface{ Scan(...any) error }) (*store.Run, error) {
	var (
		r                                                       store.Run
		phase                                                   string
		notes                                                   sql.NullString
		deadline, nextAttempt, createdAt, updatedAt, leaseUntil sql.NullInt64
	)
	err := row.Scan(&r.ID, &r.Kind, &r.Platform, &r.ChannelID, &r.ThreadID, &r.Direct, &r.Handle, &r.ReplyID,
		&r.Requester, &r.UserID, &r.GitLabUser, &r.Project, &r.ProjectID, &r.Ref, &r.Job, &r.Args,
		&r.PipelineID, &r.PipelineURL, &r.JobID, &r.JobURL, &r.Status, &notes, &phase, &deadline,
		&r.Answer, &r.Attempts, &nextAttempt, &createdAt, &updatedAt, &r.Version,
		&r.Owner, &leaseUntil)
	if err != nil {
		return nil, err
	}
	if notes.Valid && notes.String != "" {
		if err := json.Unmarshal([]byte(notes.String), &r.Notes); err != nil {
			return nil, fmt.Errorf("decoding notes of run %s: %w", r.ID, err)
		}
	}
	if len(r.Notes) == 0 {
		r.Notes = nil
	}
	if len(r.Answer) == 0 {
		r.Answer = nil
	}
	r.Phase = store.Phase(phase)
	r.Deadline, r.NextAttempt = fromMicros(deadline), fromMicros(nextAttempt)
	r.CreatedAt, r.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	r.LeaseUntil = fromMicros(leaseUntil)
	return &r, nil
}

// CreateRun stores a new run; see store.Store.
func (s *Store) CreateRun(ctx context.Context, r *store.Run) error {
	if r.ID == "" {
		return errors.New("store: creating a run: empty id")
	}
	c := *r
	c.Deadline, c.NextAttempt = store.StoredTime(r.Deadline), store.StoredTime(r.NextAttempt)
	c.LeaseUntil = store.StoredTime(r.LeaseUntil)
	c.CreatedAt = now()
	c.UpdatedAt = c.CreatedAt
	c.Version = 1
	args, err := runArgs(&c)
	if err != nil {
		return fmt.Errorf("store: creating run %s: %w", r.ID, err)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO runs (`+runColumns+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (id) DO NOTHING`, args...)
	if err != nil {
		return fmt.Errorf("store: creating run %s: %w", r.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: creating run %s: %w", r.ID, err)
	} else if n == 0 {
		return fmt.Errorf("store: creating run %s: %w", r.ID, store.ErrExists)
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
	args, err := runArgs(&c)
	if err != nil {
		return fmt.Errorf("store: saving run %s: %w", r.ID, err)
	}
	// args[1:27] are kind..next_attempt, in runColumns order; created_at
	// (args[27]), owner and lease_until (args[30:]) stay as stored: only
	// AcquireRuns and ReleaseRuns move a lease, so a save from a copy read
	// before a renewal or a takeover cannot undo it.
	// RETURNING them: the caller gets the stored values, whatever it had
	// put there.
	var created, leaseUntil sql.NullInt64
	var owner string
	err = s.w.QueryRowContext(ctx, `UPDATE runs SET
		kind = ?, platform = ?, channel_id = ?, thread_id = ?, direct = ?, handle = ?, reply_id = ?,
		requester = ?, user_id = ?, gitlab_user = ?, project = ?, project_id = ?, ref = ?, job = ?, args = ?,
		pipeline_id = ?, pipeline_url = ?, job_id = ?, job_url = ?, status = ?, notes = ?, phase = ?, deadline = ?,
		answer = ?, attempts = ?, next_attempt = ?, updated_at = ?, version = ?
		WHERE id = ? AND version = ?
		RETURNING created_at, owner, lease_until`,
		append(append(args[1:27:27], args[28], args[29]), r.ID, r.Version)...).Scan(&created, &owner, &leaseUntil)
	if errors.Is(err, sql.ErrNoRows) {
		// Nothing updated: no such run, or another version. Runs are never
		// deleted, so the row cannot vanish between the update and this.
		var one int
		err := s.r.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = ?`, r.ID).Scan(&one)
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
	c.CreatedAt = fromMicros(created)
	c.Owner, c.LeaseUntil = owner, fromMicros(leaseUntil)
	*r = c
	return nil
}

// GetRun returns one run; see store.Store.
func (s *Store) GetRun(ctx context.Context, id string) (*store.Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
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
	runs, err := s.query(ctx, `SELECT `+runColumns+` FROM runs WHERE phase <> 'done' ORDER BY created_at, seq`)
	if err != nil {
		return nil, fmt.Errorf("store: listing open runs: %w", err)
	}
	return runs, nil
}

// ListRuns returns runs matching f, newest first; see store.Store.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]*store.Run, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Platform != "" {
		add("platform = ?", f.Platform)
	}
	if f.ChannelID != "" {
		add("channel_id = ?", f.ChannelID)
	}
	if f.Requester != "" {
		add("requester = ?", f.Requester)
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if f.OpenOnly {
		where = append(where, "phase <> 'done'")
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, seq DESC LIMIT ?"
	args = append(args, f.EffectiveLimit())
	runs, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing runs: %w", err)
	}
	return runs, nil
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]*store.Run, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []*store.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}
