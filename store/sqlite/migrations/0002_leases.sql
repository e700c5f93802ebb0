-- Run leases (store.Store.AcquireRuns): owner is the process following the
-- run, '' for none; lease_until is when its claim lapses, in microseconds,
-- NULL for never leased.
ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN lease_until INTEGER;

-- runs_open gains owner and lease_until. Open runs are few next to the done
-- ones, which pile up forever, so the partial index keeps AcquireRuns
-- proportional to the open runs; with the lease columns in the index SQLite
-- tests whether a run is free without reading its row, and reads in
-- created_at order, so LIMIT stops early. OpenRuns uses its prefix.
DROP INDEX runs_open;
CREATE INDEX runs_open ON runs (created_at, seq, owner, lease_until) WHERE phase <> 'done';
