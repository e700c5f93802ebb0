package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot/config"
)

// TestRedactsProjectTokens: a [projects.<alias>] token is a GitLab
// credential like [gitlab] token; a library error quoting it is logged
// with the token redacted.
func TestRedactsProjectTokens(t *testing.T) {
	const projectToken = "glpat-project-only-secret-123"
	cfg := &config.Config{
		GitLab:   &config.GitLab{URL: "https://gitlab.example.com", Token: "glpat-main-secret-456", Project: "g/main"},
		Projects: map[string]config.Project{"api": {Path: "g/api", Token: projectToken}},
	}
	var out bytes.Buffer
	log := newLogger(&out, 0, "text", redactor(cfg))
	log.Error("request failed", "err", errors.New("GET https://gitlab.example.com/api/v4/projects?private_token="+projectToken+": 401"))
	if strings.Contains(out.String(), projectToken) {
		t.Fatalf("a project's token is logged:\n%s", out.String())
	}
}
