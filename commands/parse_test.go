package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, text string
		want       Parsed
	}{
		{"empty", "", Parsed{}},
		{"spaces only", "  \t\n", Parsed{}},
		{"name only", "help", Parsed{Name: "help"}},
		{"name lower-cased", "RUN deploy", Parsed{Name: "run", Args: "deploy"}},
		{"leading space", "   run deploy", Parsed{Name: "run", Args: "deploy"}},
		{"args kept byte for byte", "run deploy  prod   --force ", Parsed{Name: "run", Args: "deploy  prod   --force "}},
		{"newlines kept", "run notes line one\nline two\n", Parsed{Name: "run", Args: "notes line one\nline two\n"}},
		{"newline after name", "run\ndeploy", Parsed{Name: "run", Args: "deploy"}},
		{"unicode kept", "run greet héllo 世界 🚀", Parsed{Name: "run", Args: "greet héllo 世界 🚀"}},
		{"issue ref", "run fix #123 \"a b\"", Parsed{Name: "run", Args: "fix #123 \"a b\""}},
		{"quotes unbalanced kept raw", "run say don't", Parsed{Name: "run", Args: "say don't"}},
		{"tab separator", "run\tx", Parsed{Name: "run", Args: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.text); got != tt.want {
				t.Fatalf("Parse(%q) = %#v, want %#v", tt.text, got, tt.want)
			}
		})
	}
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		name, args string
		want       []string
		wantErr    string
	}{
		{"empty", "", nil, ""},
		{"blank", "   ", nil, ""},
		{"words", "deploy prod", []string{"deploy", "prod"}, ""},
		{"issue reference survives", "fix #123 now", []string{"fix", "#123", "now"}, ""},
		{"hash inside word", "a#b c", []string{"a#b", "c"}, ""},
		{"hash in quotes", `"#1 and #2" '#3'`, []string{"#1 and #2", "#3"}, ""},
		{"double quotes", `fix #123 "a b"`, []string{"fix", "#123", "a b"}, ""},
		{"single quotes", `say 'hello world'`, []string{"say", "hello world"}, ""},
		{"escaped apostrophe", `say don\'t`, []string{"say", "don't"}, ""},
		{"newlines split", "a\nb", []string{"a", "b"}, ""},
		{"unicode", "héllo 世界", []string{"héllo", "世界"}, ""},
		{"placeholder rune in input", "\ue000 #x", []string{"\ue000", "#x"}, ""},
		{"unbalanced double", `say "hi`, nil, "quote is not closed"},
		{"apostrophe", `say don't`, nil, "quote is not closed"},
		{"trailing backslash", `path \`, nil, "lone backslash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Tokenize(tt.args)
			if tt.wantErr != "" {
				var te *TokenError
				if !errors.As(err, &te) || !strings.Contains(te.Reason, tt.wantErr) {
					t.Fatalf("Tokenize(%q) error = %v, want TokenError containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Tokenize(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Tokenize(%q) = %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}

// FuzzParse checks the parser's invariants on any text: the raw arguments
// are a byte-exact suffix of the input, the name has no whitespace, and
// tokenising never panics and keeps every '#'.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"run deploy prod", "run fix #123 \"a b\"", "help", "", "RUN\n\tx\ny", "run say don't", "run a \\", "🚀 #", "run '#x' \"#y\" #z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p := Parse(text)
		if !strings.HasSuffix(text, p.Args) {
			t.Fatalf("Args %q is not a suffix of %q", p.Args, text)
		}
		if strings.ContainsAny(p.Name, " \t\n") {
			t.Fatalf("name %q contains whitespace", p.Name)
		}
		words, err := Tokenize(p.Args)
		if err != nil {
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error is not a TokenError: %v", err)
			}
			return
		}
		if !utf8.ValidString(p.Args) {
			return
		}
		hashes := 0
		for _, w := range words {
			hashes += strings.Count(w, "#")
		}
		if hashes != strings.Count(p.Args, "#") {
			t.Fatalf("Tokenize(%q) = %q lost a '#'", p.Args, words)
		}
	})
}
