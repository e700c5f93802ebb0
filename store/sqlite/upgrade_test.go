package sqlite

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatops-dev/chatops/store/storetest"
)

// fixtureDB is a database written by the store as it was before its
// statements were shared with PostgreSQL (store/internal/sqlstore): the
// upgrade fixture (storetest.WriteFixture) written at commit 33349cb by
// TestWriteFixture.
const fixtureDB = "testdata/written-by-33349cb.db"

// TestWriteFixture writes the upgrade fixture with today's store; it ran
// once, at the commit fixtureDB names:
// CHATOPS_WRITE_FIXTURE=path go test -run TestWriteFixture ./store/sqlite
func TestWriteFixture(t *testing.T) {
	path := os.Getenv("CHATOPS_WRITE_FIXTURE")
	if path == "" {
		t.Skip("writes the upgrade fixture: set CHATOPS_WRITE_FIXTURE")
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.WriteFixture(t.Context(), t, s)
}

// TestOpensADatabaseWrittenBefore opens a copy of the fixture: an
// upgraded bot keeps its runs, claims, cursors, links and confirmations.
func TestOpensADatabaseWrittenBefore(t *testing.T) {
	ctx := context.Background()
	src, err := os.Open(fixtureDB)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), "chatops.db")
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Open ends the leases of the process that had the file before.
	storetest.CheckFixture(ctx, t, s, true)
}
