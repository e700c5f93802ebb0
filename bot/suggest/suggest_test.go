package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"", "abc", 3}, {"ping", "ping", 0}, {"pnig", "ping", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3}, {"héllo", "hello", 1}} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"deploy", "rollback", "hello-world", "ls"}
	for in, want := range map[string]string{"deploi": "deploy", "Deploy": "deploy", "rolback": "rollback", "hello_world": "hello-world", "l": "ls", "zzz": "", "xx": "", "dpeloy": "deploy", "sl": "ls"} {
		if got := Closest(in, cands); got != want {
			t.Errorf("Closest(%q) = %q, want %q", in, got, want)
		}
	}
}
