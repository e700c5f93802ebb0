//go:build tools

// Package tools pins the Mattermost server the adapter's integration tests
// run against (Mattermost 9.9.0). It is its own module so the main module's
// `go test ./...` never builds it; scripts/mattermost-e2e.sh does.
package tools

import _ "github.com/mattermost/mattermost/server/v8/cmd/mattermost"
