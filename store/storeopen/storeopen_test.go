package storeopen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/store/postgres"
	"github.com/chatops-dev/chatops/store/sqlite"
)

func TestSQLiteByDefault(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, tc := range []struct{ url, path, want string }{
		{"", "", filepath.Join(dir, DefaultPath)},
		{"  ", "data/bot.db", filepath.Join(dir, "data", "bot.db")},
	} {
		s, err := Open(t.Context(), tc.url, tc.path)
		if err != nil {
			t.Fatalf("Open(%q, %q): %v", tc.url, tc.path, err)
		}
		if _, ok := s.(*sqlite.Store); !ok {
			t.Errorf("Open(%q, %q) = %T, want *sqlite.Store", tc.url, tc.path, s)
		}
		s.Close()
		if _, err := os.Stat(tc.want); err != nil {
			t.Errorf("Open(%q, %q) did not create %s: %v", tc.url, tc.path, tc.want, err)
		}
	}
}

func TestUnknownURLRefused(t *testing.T) {
	for _, u := range []string{"mysql://db/chatops", "chatops.db", "sqlite:///var/lib/chatops.db"} {
		s, err := Open(t.Context(), u, filepath.Join(t.TempDir(), "x.db"))
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", u)
		} else if !strings.Contains(err.Error(), "postgres://") {
			t.Errorf("Open(%q) error %q does not say what is accepted", u, err)
		}
	}
}

func TestPostgresByURL(t *testing.T) {
	// Without a server the choice still shows: the error is PostgreSQL's,
	// for the database and host of the url, whatever the scheme's case.
	for _, u := range []string{"postgres://u@127.0.0.1:1/db?connect_timeout=2", "PostgreSQL://u@127.0.0.1:1/db?connect_timeout=2"} {
		_, err := Open(t.Context(), u, "")
		if err == nil || !strings.Contains(err.Error(), `PostgreSQL database "db" on 127.0.0.1:1`) {
			t.Errorf("Open(%q) = %v, want a PostgreSQL connection error", u, err)
		}
	}
	u := os.Getenv("CHATOPS_TEST_POSTGRES_URL")
	if u == "" {
		t.Skip("CHATOPS_TEST_POSTGRES_URL not set; .ci/run sets it to a throwaway PostgreSQL (scripts/postgres.sh)")
	}
	s, err := Open(t.Context(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*postgres.Store); !ok {
		t.Fatalf("Open(postgres url) = %T, want *postgres.Store", s)
	}
}
