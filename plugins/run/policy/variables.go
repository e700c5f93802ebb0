package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/commands"
)

// MaxVariableBytes bounds one variable's value from chat: a chat line is
// no place for a file, and GitLab stores pipeline variables in its
// database.
const MaxVariableBytes = 4096

var (
	// variableName is what GitLab accepts as a variable key.
	variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// envStyle is a name written the way CI variables are (VERSION,
	// DRY_RUN): such a word that names no variable of the job is most
	// likely a typo, and is refused rather than passed on as text.
	envStyle = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
)

// ChatVariables picks from a run's arguments the NAME=value words that
// set a variable the job takes from chat (Rule.Variables), for example
// `run deploy production VERSION=1.2`. The arguments are split as the
// router splits them (shell quoting: NOTE="two words" is one word). input
// is what the job gets as CHAT_INPUT: the argument text without those
// words, otherwise byte for byte ("production").
//
// A job without variables takes none: nil, the arguments untouched and
// not even split (they may be free text with unbalanced quotes).
// Otherwise a word whose name is written like a CI variable (VERSON=1.2)
// but is not one of the job's is refused, so a typo does not run a
// deploy with the default; other words with "=" (key=value in lower
// case) stay text.
func ChatVariables(job string, r Rule, args string) (vars map[string]string, input string, err error) {
	if len(r.Variables) == 0 {
		return nil, args, nil
	}
	words, err := commands.Tokenize(args)
	if err != nil {
		return nil, "", &bot.Refusal{Title: "Could not read the arguments", Text: "In the arguments, " + err.Error() + "."}
	}
	var taken []int // indexes of the words that are variables
	for i, w := range words {
		name, value, ok := strings.Cut(w, "=")
		if !ok || !variableName.MatchString(name) {
			continue
		}
		switch {
		case !slices.Contains(r.Variables, name):
			if envStyle.MatchString(name) {
				return nil, "", &bot.Refusal{Title: job + " takes no variable " + name,
					Text: fmt.Sprintf("The variables %s takes from chat are %s. Check the spelling; nothing was run.", job, strings.Join(r.Variables, ", "))}
			}
		case hasKey(vars, name):
			return nil, "", &bot.Refusal{Title: name + " is given twice",
				Text: "Give each variable once; nothing was run."}
		case len(value) > MaxVariableBytes:
			return nil, "", &bot.Refusal{Title: name + " is too long",
				Text: fmt.Sprintf("A variable from chat holds at most %d bytes; this one has %d. Nothing was run.", MaxVariableBytes, len(value))}
		default:
			if vars == nil {
				vars = map[string]string{}
			}
			vars[name] = value
			taken = append(taken, i)
		}
	}
	return vars, without(args, words, taken), nil
}

// without returns args with the words at the indexes taken cut out, and
// the space that separated each from the next (or, for the last word,
// from the last word kept). When the words cannot be located in args as
// the tokenizer split them, args is returned whole: CHAT_INPUT keeps a
// variable's word rather than lose text.
func without(args string, words []string, taken []int) string {
	if len(taken) == 0 {
		return args
	}
	spans := wordSpans(args)
	if len(spans) != len(words) {
		return args
	}
	for i, sp := range spans {
		if got, err := commands.Tokenize(args[sp[0]:sp[1]]); err != nil || len(got) != 1 || got[0] != words[i] {
			return args
		}
	}
	gone := map[int]bool{}
	for _, i := range taken {
		gone[i] = true
	}
	cut := make([]bool, len(args))
	for _, i := range taken {
		from, to := spans[i][0], spans[i][1]
		if i+1 < len(spans) {
			to = spans[i+1][0]
		} else {
			// The last word: the space before it goes, back to the last
			// word kept.
			from = 0
			for j := i - 1; j >= 0; j-- {
				if !gone[j] {
					from = spans[j][1]
					break
				}
			}
		}
		for b := from; b < to; b++ {
			cut[b] = true
		}
	}
	var out strings.Builder
	for b := range len(args) {
		if !cut[b] {
			out.WriteByte(args[b])
		}
	}
	return out.String()
}

// wordSpans finds the byte ranges of args' words as a shell splits them:
// whitespace outside quotes separates words; a backslash escapes the next
// byte outside single quotes. The delimiters are ASCII, so the ranges fall
// on UTF-8 boundaries.
func wordSpans(args string) [][2]int {
	var spans [][2]int
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	i := 0
	for {
		for i < len(args) && isSpace(args[i]) {
			i++
		}
		if i >= len(args) {
			return spans
		}
		start, quote := i, byte(0)
	word:
		for i < len(args) {
			c := args[i]
			switch {
			case quote == 0 && isSpace(c):
				break word
			case c == '\\' && quote != '\'':
				i += 2
				continue
			case quote == 0 && (c == '\'' || c == '"'):
				quote = c
			case c == quote:
				quote = 0
			}
			i++
		}
		spans = append(spans, [2]int{start, min(i, len(args))})
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
