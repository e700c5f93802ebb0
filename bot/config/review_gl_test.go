package config

import "testing"

// Review findings (branch review-gl).

// TestLogLevelTypoIsAProblem: [log] level and format are never checked.
// A typo ("debgu", "jsn") starts the bot with info-level text logs
// (logging.go falls back silently), the kind of silent acceptance the
// unknown-key check exists to prevent.
func TestLogLevelTypoIsAProblem(t *testing.T) {
	for _, text := range []string{
		"[shell]\n[log]\nlevel = \"debgu\"\n",
		"[shell]\n[log]\nformat = \"jsn\"\n",
	} {
		if _, err := Parse(text, env(nil)); err == nil {
			t.Errorf("accepted without a problem:\n%s", text)
		}
	}
}

// TestBadRefPatternIsAProblem: refs are path.Match patterns; a malformed
// one (path.ErrBadPattern) never matches anything at run time
// (gitlab.Service.atRef ignores Match's error), so the operator's
// intended refs are silently refused to every user.
func TestBadRefPatternIsAProblem(t *testing.T) {
	for _, text := range []string{
		"[shell]\n[gitlab]\nurl = \"https://gitlab.example.com\"\ntoken = \"t\"\nproject = \"g/p\"\nrefs = [\"release/[0-9\"]\n",
		"[shell]\n[gitlab]\nurl = \"https://gitlab.example.com\"\ntoken = \"t\"\n[projects.api]\npath = \"g/api\"\nrefs = [\"v[\"]\n",
	} {
		if _, err := Parse(text, env(nil)); err == nil {
			t.Errorf("accepted without a problem:\n%s", text)
		}
	}
}
