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
// router splits them (shell quoting: NOTE="two words" is one word).
// CHAT_INPUT stays the whole argument text either way; these become
// pipeline variables of their own.
//
// A job without variables takes none: nil, and the arguments are not
// even split (they may be free text with unbalanced quotes). Otherwise a
// word whose name is written like a CI variable (VERSON=1.2) but is not
// one of the job's is refused, so a typo does not run a deploy with the
// default; other words with "=" (key=value in lower case) stay text.
func ChatVariables(job string, r Rule, args string) (map[string]string, error) {
	if len(r.Variables) == 0 {
		return nil, nil
	}
	words, err := commands.Tokenize(args)
	if err != nil {
		return nil, &bot.Refusal{Title: "Could not read the arguments", Text: "In the arguments, " + err.Error() + "."}
	}
	var vars map[string]string
	for _, w := range words {
		name, value, ok := strings.Cut(w, "=")
		if !ok || !variableName.MatchString(name) {
			continue
		}
		switch {
		case !slices.Contains(r.Variables, name):
			if envStyle.MatchString(name) {
				return nil, &bot.Refusal{Title: job + " takes no variable " + name,
					Text: fmt.Sprintf("The variables %s takes from chat are %s. Check the spelling; nothing was run.", job, strings.Join(r.Variables, ", "))}
			}
		case hasKey(vars, name):
			return nil, &bot.Refusal{Title: name + " is given twice",
				Text: "Give each variable once; nothing was run."}
		case len(value) > MaxVariableBytes:
			return nil, &bot.Refusal{Title: name + " is too long",
				Text: fmt.Sprintf("A variable from chat holds at most %d bytes; this one has %d. Nothing was run.", MaxVariableBytes, len(value))}
		default:
			if vars == nil {
				vars = map[string]string{}
			}
			vars[name] = value
		}
	}
	return vars, nil
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
