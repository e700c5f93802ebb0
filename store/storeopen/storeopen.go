// Package storeopen picks and opens the store.Store the configuration asks
// for. It is apart from package store because it imports the
// implementations, which import store.
package storeopen

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/postgres"
	"github.com/chatops-dev/chatops/store/sqlite"
)

// DefaultPath is the SQLite file used when the configuration names none,
// relative to the working directory.
const DefaultPath = "chatops.db"

// Open opens the store of the [store] configuration: PostgreSQL when url
// is a postgres:// or postgresql:// URL (several replicas share it),
// otherwise the SQLite file at path (DefaultPath when empty), which one
// process owns. Any other non-empty url is an error rather than a silent
// fallback to SQLite: replicas each on their own file would each handle
// every chat event.
func Open(ctx context.Context, url, path string) (store.Store, error) {
	url = strings.TrimSpace(url)
	if url != "" {
		scheme, rest, _ := strings.Cut(url, "://")
		switch lower := strings.ToLower(scheme); lower {
		case "postgres", "postgresql":
			// Schemes are case-insensitive; pgx only knows them lower case.
			return postgres.Open(ctx, lower+"://"+rest)
		}
		return nil, fmt.Errorf("store: url must start with postgres:// or postgresql:// (got scheme %q); leave it empty for the SQLite file at path", scheme)
	}
	if path == "" {
		path = DefaultPath
	}
	return sqlite.Open(ctx, path)
}
