package postgres

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/chatops-dev/chatops/store/storetest"
)

// TestOpensADatabaseWrittenBefore loads the upgrade fixture as the store
// of commit 33349cb wrote it (schema, rows and migration bookkeeping) into
// a fresh schema, opens it, which applies the migrations it lacks, and
// reads back every value: replicas upgraded in place keep their runs,
// claims, cursors, links and confirmations.
func TestOpensADatabaseWrittenBefore(t *testing.T) {
	url := freshSchema(t)
	ctx := context.Background()
	dump, err := os.ReadFile("testdata/written-by-33349cb.sql")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	// Without arguments, Exec sends the whole file as one simple query.
	if _, err := conn.Exec(ctx, string(dump)); err != nil {
		t.Fatalf("loading the fixture: %v", err)
	}
	conn.Close(ctx)
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckFixture(ctx, t, s, false)
}
