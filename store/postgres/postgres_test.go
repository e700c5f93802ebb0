package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/postgres/pgtest"
	"github.com/chatops-dev/chatops/store/storetest"
)

// testURL is the database the tests use, each in a schema of its own.
func testURL(t testing.TB) string { return pgtest.BaseURL(t) }

// freshSchema creates an empty schema, dropped when the test ends, and
// returns a url whose connections use it.
func freshSchema(t testing.TB) string { return pgtest.FreshSchema(t) }

// openURL opens a Store closed when the test ends (before its schema is
// dropped: cleanups run last registered first).
func openURL(t testing.TB, u string) *Store {
	t.Helper()
	s, err := Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func opener() storetest.Opener {
	return storetest.Opener{
		Open: func(t testing.TB) store.Store { return openURL(t, freshSchema(t)) },
		Shared: func(t testing.TB) (store.Store, store.Store) {
			u := freshSchema(t)
			return openURL(t, u), openURL(t, u)
		},
		LockRow: func(t testing.TB, s store.Store, table, id string) func() {
			tx, err := s.(*Store).pool.Begin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// As SaveRun (or SetPendingLinkTarget) does, uncommitted.
			if _, err := tx.Exec(context.Background(), `SELECT 1 FROM `+table+` WHERE id = $1 FOR UPDATE`, id); err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			return func() { once.Do(func() { _ = tx.Rollback(context.Background()) }) }
		},
		CountClaims: func(t testing.TB, s store.Store) int {
			var n int
			if err := s.(*Store).pool.QueryRow(context.Background(), `SELECT count(*) FROM claims`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		},
	}
}

func TestSuite(t *testing.T) { storetest.Run(t, opener()) }

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(tb testing.TB) store.Store { return openURL(tb, freshSchema(tb)) })
}

func TestMigrationsAppliedOnce(t *testing.T) {
	u := freshSchema(t)
	s := openURL(t, u)
	if s.migrated == 0 {
		t.Fatal("first Open applied no migration")
	}
	s2 := openURL(t, u)
	if s2.migrated != 0 {
		t.Fatalf("second Open applied %d migrations, want 0", s2.migrated)
	}

	// A newer chatops migrated the database: this one refuses it.
	if _, err := s.pool.Exec(t.Context(), `INSERT INTO schema_migrations (version) VALUES (9999)`); err != nil {
		t.Fatal(err)
	}
	_, err := Open(t.Context(), u)
	if err == nil || !strings.Contains(err.Error(), "version 9999") || !strings.Contains(err.Error(), "newer chatops") {
		t.Fatalf("Open of a newer schema = %v, want an error naming version 9999 and a newer chatops", err)
	}
}

// Replicas starting together: the advisory lock lets one migrate, the
// others wait and find nothing to do.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	u := freshSchema(t)
	const n = 6
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), u) })
	}
	wg.Wait()
	migrated := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		if stores[i].migrated > 0 {
			migrated++
		}
		stores[i].Close()
	}
	if migrated != 1 {
		t.Fatalf("%d of %d concurrent Opens applied migrations, want 1", migrated, n)
	}
}

func TestOpenErrorsHideThePassword(t *testing.T) {
	_, err := Open(t.Context(), "postgres://chatops:s3cret-pw@127.0.0.1:1/nope?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("error does not name the database: %v", err)
	}
}

// Listen survives its connection being killed (a database restart, a
// proxy timing out the idle connection): it reconnects and hears later
// payloads.
func TestListenReconnects(t *testing.T) {
	s := openURL(t, freshSchema(t))
	var mu sync.Mutex
	var heard []string
	got := func(p string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(heard, p)
	}
	c, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- s.Listen(c, func(p string) {
			mu.Lock()
			heard = append(heard, p)
			mu.Unlock()
		})
	}()
	// notifyUntilHeard notifies p, again and again (one sent while Listen
	// is not connected is lost), until Listen hears it.
	notifyUntilHeard := func(p string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !got(p); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("Listen did not hear %q within 10s", p)
			}
			if err := s.Notify(t.Context(), p); err != nil {
				t.Fatal(err)
			}
		}
	}
	notifyUntilHeard("before")
	for round := range 2 {
		var killed int
		if err := s.pool.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND query = 'LISTEN `+channel+`'`).Scan(&killed); err != nil {
			t.Fatal(err)
		}
		if killed != 1 {
			t.Fatalf("round %d: terminated %d listening connections, want 1", round, killed)
		}
		notifyUntilHeard(fmt.Sprintf("after kill %d", round))
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Listen = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen still running 10s after its context ended")
	}
}
