package policy

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

func TestChatVariables(t *testing.T) {
	takes := Rule{Variables: []string{"VERSION", "DRY_RUN", "note"}}
	tests := []struct {
		name  string
		rule  Rule
		args  string
		want  map[string]string
		input string // CHAT_INPUT
		err   string // a phrase of the refusal, "" for none
	}{
		{"no variables taken: text only", Rule{}, "VERSION=1 'unbalanced", nil, "VERSION=1 'unbalanced", ""},
		{"picked", takes, "production VERSION=1.2 DRY_RUN=", map[string]string{"VERSION": "1.2", "DRY_RUN": ""}, "production", ""},
		{"in the middle", takes, "eu  VERSION=1.2\tfast  lane", map[string]string{"VERSION": "1.2"}, "eu  fast  lane", ""},
		{"quoted value", takes, `note="a b" VERSION='x=y' go`, map[string]string{"note": "a b", "VERSION": "x=y"}, "go", ""},
		{"only variables", takes, "VERSION=1", map[string]string{"VERSION": "1"}, "", ""},
		{"lower-case key=value stays text", takes, "size=big", nil, "size=big", ""},
		{"a #ref word is kept", takes, "fix #12 VERSION=#12", map[string]string{"VERSION": "#12"}, "fix #12", ""},
		{"escaped space", takes, `a\ b VERSION=x\ y c`, map[string]string{"VERSION": "x y"}, `a\ b c`, ""},
		{"unicode around", takes, "héllo VERSION=世界 🚀", map[string]string{"VERSION": "世界"}, "héllo 🚀", ""},
		{"not a name", takes, "1X=2 a=b=c =x", nil, "1X=2 a=b=c =x", ""},
		{"misspelt", takes, "VERSON=1", nil, "", "takes no variable VERSON"},
		{"twice", takes, "VERSION=1 VERSION=1", nil, "", "given twice"},
		{"unbalanced quote", takes, `VERSION="1`, nil, "", "quote is not closed"},
		{"too long", takes, "VERSION=" + strings.Repeat("x", MaxVariableBytes+1), nil, "", "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, input, err := ChatVariables("deploy", tt.rule, tt.args)
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
			if !maps.Equal(got, tt.want) || input != tt.input {
				t.Fatalf("got %v and input %q, want %v and %q", got, input, tt.want, tt.input)
			}
		})
	}
}

// FuzzChatVariables: any argument text gives either a refusal or
// variables the rule names, each within the size bound, and an input
// that holds every other word: splitting it gives the arguments' words
// without the variables' ones.
func FuzzChatVariables(f *testing.F) {
	for _, s := range []string{"production VERSION=1.2", `NOTE="a b"`, "VERSON=1", `VERSION="`, "#12 VERSION=#1", "a=b=c"} {
		f.Add(s)
	}
	r := Rule{Variables: []string{"VERSION", "NOTE"}}
	f.Fuzz(func(t *testing.T, args string) {
		vars, input, err := ChatVariables("deploy", r, args)
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
		if len(vars) == 0 {
			if input != args {
				t.Fatalf("no variables, yet input %q is not the arguments %q", input, args)
			}
			return
		}
		all, _ := commands.Tokenize(args)
		var rest []string
		for _, w := range all {
			name, _, _ := strings.Cut(w, "=")
			if _, isVar := vars[name]; !isVar || !strings.Contains(w, "=") {
				rest = append(rest, w)
			}
		}
		got, err := commands.Tokenize(input)
		if input == args {
			return // the words could not be located: the text is kept whole
		}
		if err != nil || !slices.Equal(got, rest) {
			t.Fatalf("input %q splits into %q (%v), want %q", input, got, err, rest)
		}
	})
}
