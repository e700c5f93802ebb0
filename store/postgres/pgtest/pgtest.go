// Package pgtest gives tests a PostgreSQL of their own: a fresh schema in
// the database named by CHATOPS_TEST_POSTGRES_URL (which .ci/run sets to a
// throwaway server started by scripts/postgres.sh), dropped when the test
// ends. Without the variable the test is skipped with a message saying
// how to run it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the database tests use.
const EnvVar = "CHATOPS_TEST_POSTGRES_URL"

// BaseURL returns the test database's URL, or skips the test.
func BaseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvVar)
	if u == "" {
		t.Skip(EnvVar + " not set; .ci/run sets it to a throwaway PostgreSQL (scripts/postgres.sh)")
	}
	return u
}

// FreshSchema creates an empty schema, dropped when the test ends, and
// returns a URL whose connections use it (pgx sends unknown URL
// parameters such as search_path as run-time settings), or skips.
func FreshSchema(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "chatops_test_" + hex.EncodeToString(b)
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("creating schema %s in %s: %v", schema, EnvVar, err)
	}
	t.Cleanup(func() {
		if err := exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s must be a URL: %v", EnvVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
