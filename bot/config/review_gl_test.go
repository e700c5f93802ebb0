package config

import "testing"

// Review findings (branch review-gl).

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
