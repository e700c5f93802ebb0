package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatops-dev/chatops/store"
)

// Runs: one row per run, written with optimistic versions.

const runColumns = `id, kind, platform, channel_id, thread_id, direct, handle, reply_id,
	requester, user_id, gitlab_user, project, project_id, ref, job, args,
	pipeline_id, pipeline_url, job_id, job_url, status, notes, phase, deadline,
	answer, attempts, next_attempt, created_at, updated_at, version, owner, lease_until`

// scanRun reads one row of runColumns.
func scanRun(row pgx.Row) (*store.Run, error) {
	var (
		r                                                       store.Run
		phase                                                   string
		deadline, nextAttempt, createdAt, updatedAt, leaseUntil pgtype.Timestamptz
	)
	err := row.Scan(&r.ID, &r.Kind, &r.Platform, &r.ChannelID, &r.ThreadID, &r.Direct, &r.Handle, &r.ReplyID,
		&r.Requester, &r.UserID, &r.GitLabUser, &r.Project, &r.ProjectID, &r.Ref, &r.Job, &r.Args,
		&r.PipelineID, &r.PipelineURL, &r.JobID, &r.JobURL, &r.Status, &r.Notes, &phase, &deadline,
		&r.Answer, &r.Attempts, &nextAttempt, &createdAt, &updatedAt, &r.Version,
		&r.Owner, &leaseUntil)
	if err != nil {
		return nil, err
	}
	if len(r.Notes) == 0 {
		r.Notes = nil
	}
	if len(r.Answer) == 0 {
		r.Answer = nil
	}
	r.Phase = store.Phase(phase)
	r.Deadline, r.NextAttempt = fromTimestamptz(deadline), fromTimestamptz(nextAttempt)
	r.CreatedAt, r.UpdatedAt = fromTimestamptz(createdAt), fromTimestamptz(updatedAt)
	r.LeaseUntil = fromTimestamptz(leaseUntil)
	return &r, nil
}

// nilIfEmpty stores an empty slice as NULL, as the zero value.
func nilIfEmpty[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return s
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
	tag, err := s.pool.Exec(ctx, `INSERT INTO runs (`+runColumns+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30,$31,$32)
		ON CONFLICT (id) DO NOTHING`,
		c.ID, c.Kind, c.Platform, c.ChannelID, c.ThreadID, c.Direct, c.Handle, c.ReplyID,
		c.Requester, c.UserID, c.GitLabUser, c.Project, c.ProjectID, c.Ref, c.Job, c.Args,
		c.PipelineID, c.PipelineURL, c.JobID, c.JobURL, c.Status, nilIfEmpty(c.Notes), string(c.Phase), timestamptz(c.Deadline),
		nilIfEmpty(c.Answer), c.Attempts, timestamptz(c.NextAttempt), c.CreatedAt, c.UpdatedAt, c.Version,
		c.Owner, timestamptz(c.LeaseUntil))
	if err != nil {
		return fmt.Errorf("store: creating run %s: %w", r.ID, err)
	}
	if tag.RowsAffected() == 0 {
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
	// created_at, owner and lease_until stay as stored: only AcquireRuns
	// and ReleaseRuns move a lease, so a save from a copy read before a
	// renewal or a takeover cannot undo it. RETURNING them: the caller
	// gets the stored values, whatever it had put there.
	var created, leaseUntil pgtype.Timestamptz
	var owner string
	err := s.pool.QueryRow(ctx, `UPDATE runs SET
		kind = $2, platform = $3, channel_id = $4, thread_id = $5, direct = $6, handle = $7, reply_id = $8,
		requester = $9, user_id = $10, gitlab_user = $11, project = $12, project_id = $13, ref = $14, job = $15, args = $16,
		pipeline_id = $17, pipeline_url = $18, job_id = $19, job_url = $20, status = $21, notes = $22, phase = $23, deadline = $24,
		answer = $25, attempts = $26, next_attempt = $27, updated_at = $28, version = $29
		WHERE id = $1 AND version = $30
		RETURNING created_at, owner, lease_until`,
		c.ID, c.Kind, c.Platform, c.ChannelID, c.ThreadID, c.Direct, c.Handle, c.ReplyID,
		c.Requester, c.UserID, c.GitLabUser, c.Project, c.ProjectID, c.Ref, c.Job, c.Args,
		c.PipelineID, c.PipelineURL, c.JobID, c.JobURL, c.Status, nilIfEmpty(c.Notes), string(c.Phase), timestamptz(c.Deadline),
		nilIfEmpty(c.Answer), c.Attempts, timestamptz(c.NextAttempt), c.UpdatedAt, c.Version, r.Version).Scan(&created, &owner, &leaseUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		// Nothing updated: no such run, or another version. Runs are never
		// deleted, so the row cannot vanish between the update and this.
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE id = $1)`, r.ID).Scan(&exists); err != nil {
			return fmt.Errorf("store: saving run %s: %w", r.ID, err)
		}
		if !exists {
			return fmt.Errorf("store: saving run %s: %w", r.ID, store.ErrNotFound)
		}
		return fmt.Errorf("store: saving run %s at version %d: %w", r.ID, r.Version, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: saving run %s: %w", r.ID, err)
	}
	c.CreatedAt = fromTimestamptz(created)
	c.Owner, c.LeaseUntil = owner, fromTimestamptz(leaseUntil)
	*r = c
	return nil
}

// GetRun returns one run; see store.Store.
func (s *Store) GetRun(ctx context.Context, id string) (*store.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
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
	add := func(column string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf("%s = $%d", column, len(args)))
	}
	if f.Platform != "" {
		add("platform", f.Platform)
	}
	if f.ChannelID != "" {
		add("channel_id", f.ChannelID)
	}
	if f.Requester != "" {
		add("requester", f.Requester)
	}
	if f.OpenOnly {
		where = append(where, "phase <> 'done'")
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.EffectiveLimit())
	q += fmt.Sprintf(" ORDER BY created_at DESC, seq DESC LIMIT $%d", len(args))
	runs, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing runs: %w", err)
	}
	return runs, nil
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]*store.Run, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.Run, error) { return scanRun(row) })
}
