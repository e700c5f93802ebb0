package sqlite

import (
	"context"
	"errors"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/storetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "chatops.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func opener() storetest.Opener {
	return storetest.Opener{
		Open: func(t testing.TB) store.Store { return openTemp(t) },
		// Shared is nil: Open refuses a second opener of one file (see
		// TestSecondOpenRefused), so two handles on one SQLite database
		// cannot exist.
		CountClaims: func(t testing.TB, s store.Store) int {
			var n int
			if err := s.(*Store).r.QueryRow(`SELECT count(*) FROM claims`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		},
	}
}

func TestSuite(t *testing.T) { storetest.Run(t, opener()) }

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(tb testing.TB) store.Store { return openTemp(tb) })
}

func TestOpenCreatesDirectoryAndWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "chatops.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	var mode string
	if err := s.r.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestSecondOpenRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chatops.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), path)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open in this process = %v, want ErrInUse", err)
	}
	for _, want := range []string{path + " is in use", "pid " + strconv.Itoa(os.Getpid()), "PostgreSQL", `url = "postgres://`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The same file by another name is the same file.
	if _, err := Open(t.Context(), filepath.Join(filepath.Dir(path), ".", "chatops.db")); !errors.Is(err, ErrInUse) {
		t.Fatalf("Open by another spelling of the path = %v, want ErrInUse", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s2, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

// TestSecondProcessRefused opens the file from a child process (this test
// binary, re-run) while this process holds it.
func TestSecondProcessRefused(t *testing.T) {
	if path := os.Getenv("CHATOPS_SQLITE_CHILD_PATH"); path != "" {
		_, err := Open(context.Background(), path)
		if err == nil {
			os.Exit(3)
		}
		os.Stderr.WriteString(err.Error())
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "chatops.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := command(t, exe, "-test.run=^TestSecondProcessRefused$")
	cmd.Env = append(os.Environ(), "CHATOPS_SQLITE_CHILD_PATH="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v (opened the file the parent holds?)\n%s", err, out)
	}
	want := "in use by another chatops process (pid " + strconv.Itoa(os.Getpid()) + ")"
	if !strings.Contains(string(out), want) {
		t.Fatalf("child's error %q does not say %q", out, want)
	}
}

func TestMigrationsAppliedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chatops.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if s.migrated == 0 {
		t.Fatal("first Open applied no migration")
	}
	if err := s.SetCursor(t.Context(), "k", "kept"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if s.migrated != 0 {
		t.Fatalf("second Open applied %d migrations, want 0", s.migrated)
	}
	if v, err := s.Cursor(t.Context(), "k"); err != nil || v != "kept" {
		t.Fatalf("cursor after reopen = %q, %v", v, err)
	}

	// A newer chatops migrated the file: this one refuses it.
	if _, err := s.w.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), "version 9999") || !strings.Contains(err.Error(), "newer chatops") {
		t.Fatalf("Open of a newer schema = %v, want an error naming version 9999 and a newer chatops", err)
	}
	// The refused Open released the file.
	if _, err := Open(t.Context(), path); errors.Is(err, ErrInUse) {
		t.Fatalf("file still locked after a failed Open: %v", err)
	}
}

func TestOpenBadPath(t *testing.T) {
	for _, p := range []string{"", filepath.Join(t.TempDir(), "what?.db")} {
		if s, err := Open(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func command(t *testing.T, name string, args ...string) *osexec.Cmd {
	t.Helper()
	return osexec.CommandContext(t.Context(), name, args...)
}

// A restarted process (the file lock makes it the only one) resumes the
// runs a dead one held at once, without waiting for the leases to lapse.
func TestOpenEndsADeadProcesssLeases(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chatops.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := &store.Run{ID: "r1", Kind: "run", Phase: store.PhaseFollowing, Deadline: time.Now().Add(time.Hour),
		Owner: "dead", LeaseUntil: time.Now().Add(time.Hour)}
	if err := st.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if runs, err := st.AcquireRuns(ctx, "other", time.Minute, 10); err != nil || len(runs) != 0 {
		t.Fatalf("acquired %d runs (%v) while the lease holds", len(runs), err)
	}
	l := &store.PendingLink{ID: "l1", Identity: "slack:U1", Platform: "slack", ChannelID: "D1", DeviceCode: []byte("sealed"),
		Interval: 5 * time.Second, ExpiresAt: time.Now().Add(time.Hour), Owner: "dead", LeaseUntil: time.Now().Add(time.Hour)}
	if err := st.CreatePendingLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	if links, err := st.AcquirePendingLinks(ctx, "other", time.Minute, 10); err != nil || len(links) != 0 {
		t.Fatalf("acquired %d pending links (%v) while the lease holds", len(links), err)
	}
	st.Close()
	st, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.AcquireRuns(ctx, "next", time.Minute, 10)
	if err != nil || len(runs) != 1 || runs[0].Owner != "next" {
		t.Fatalf("after reopening: %d runs (%v), want r1 taken at once", len(runs), err)
	}
	links, err := st.AcquirePendingLinks(ctx, "next", time.Minute, 10)
	if err != nil || len(links) != 1 || links[0].Owner != "next" {
		t.Fatalf("after reopening: %d pending links (%v), want the link taken at once", len(links), err)
	}
}

// The shared statements (store/internal/sqlstore) number their
// placeholders $1, $2, ... as PostgreSQL wants. SQLite reads $NNN as a
// named parameter and numbers parameters by first appearance, so this
// relies on modernc.org/sqlite binding "$NNN" to the argument of ordinal
// NNN: out of order and repeated, as SaveRun and AcquireRuns use them.
func TestDollarPlaceholdersBindByNumber(t *testing.T) {
	s := openTemp(t)
	var a, b, c string
	if err := s.r.QueryRow(`SELECT $2, $1, $2 || $3`, "one", "two", "three").Scan(&a, &b, &c); err != nil {
		t.Fatal(err)
	}
	if a != "two" || b != "one" || c != "twothree" {
		t.Fatalf("SELECT $2, $1, $2 || $3 = %q, %q, %q; want two, one, twothree", a, b, c)
	}
}
