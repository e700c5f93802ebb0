package policy

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot"
)

func TestChatVariables(t *testing.T) {
	takes := Rule{Variables: []string{"VERSION", "DRY_RUN", "note"}}
	tests := []struct {
		name string
		rule Rule
		args string
		want map[string]string
		err  string // a phrase of the refusal, "" for none
	}{
		{"no variables taken: text only", Rule{}, "VERSION=1 'unbalanced", nil, ""},
		{"picked", takes, "production VERSION=1.2 DRY_RUN=", map[string]string{"VERSION": "1.2", "DRY_RUN": ""}, ""},
		{"quoted value", takes, `note="a b" VERSION='x=y'`, map[string]string{"note": "a b", "VERSION": "x=y"}, ""},
		{"lower-case key=value stays text", takes, "size=big", nil, ""},
		{"a #ref word is kept", takes, "VERSION=#12", map[string]string{"VERSION": "#12"}, ""},
		{"not a name", takes, "1X=2 a=b=c =x", nil, ""},
		{"misspelt", takes, "VERSON=1", nil, "takes no variable VERSON"},
		{"twice", takes, "VERSION=1 VERSION=1", nil, "given twice"},
		{"unbalanced quote", takes, `VERSION="1`, nil, "quote is not closed"},
		{"too long", takes, "VERSION=" + strings.Repeat("x", MaxVariableBytes+1), nil, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChatVariables("deploy", tt.rule, tt.args)
			if tt.err != "" {
				var ref *bot.Refusal
				if !errors.As(err, &ref) || !strings.Contains(ref.Title+" "+ref.Text, tt.err) {
					t.Fatalf("err = %v, want a refusal saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzChatVariables: any argument text gives either a refusal or
// variables the rule names, each within the size bound.
func FuzzChatVariables(f *testing.F) {
	for _, s := range []string{"production VERSION=1.2", `NOTE="a b"`, "VERSON=1", `VERSION="`, "#12 VERSION=#1", "a=b=c"} {
		f.Add(s)
	}
	r := Rule{Variables: []string{"VERSION", "NOTE"}}
	f.Fuzz(func(t *testing.T, args string) {
		vars, err := ChatVariables("deploy", r, args)
		if err != nil {
			var ref *bot.Refusal
			if !errors.As(err, &ref) {
				t.Fatalf("error that is no refusal: %v", err)
			}
			return
		}
		for k, v := range vars {
			if k != "VERSION" && k != "NOTE" {
				t.Fatalf("variable %q the rule does not name", k)
			}
			if len(v) > MaxVariableBytes {
				t.Fatalf("%s has %d bytes", k, len(v))
			}
		}
	})
}
