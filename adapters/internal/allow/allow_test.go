package allow

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestList(t *testing.T) {
	var logs bytes.Buffer
	l := New([]string{"T1", "T2"}, "Slack workspace", slog.New(slog.NewTextHandler(&logs, nil)))
	for _, tt := range []struct {
		source string
		want   bool
	}{{"T1", true}, {"T2", true}, {"", true}, {"T9", false}, {"T9", false}, {"T8", false}} {
		if got := l.Allows(tt.source); got != tt.want {
			t.Errorf("Allows(%q) = %v", tt.source, got)
		}
	}
	if n := strings.Count(logs.String(), "not in the allowlist"); n != 2 {
		t.Fatalf("%d log lines for two foreign sources seen three times:\n%s", n, logs.String())
	}
	if !New(nil, "x", nil).Allows("anything") || !(*List)(nil).Allows("x") {
		t.Fatal("an empty allowlist must allow everything")
	}
}
