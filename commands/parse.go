package commands

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/shlex"
)

// Parsed is a message text split into a command name and its arguments.
type Parsed struct {
	// Name is the first word, lower-cased.
	Name string
	// Args is everything after the first word and the whitespace that
	// follows it, byte for byte: it becomes GitLab's CHAT_INPUT, so it is
	// never normalised (newlines, quotes and unicode are kept).
	Args string
}

// Parse splits text into command name and raw arguments. Leading
// whitespace is skipped; the name ends at the first whitespace rune.
func Parse(text string) Parsed {
	text = strings.TrimLeftFunc(text, unicode.IsSpace)
	end := strings.IndexFunc(text, unicode.IsSpace)
	if end < 0 {
		return Parsed{Name: strings.ToLower(text)}
	}
	name := text[:end]
	rest := strings.TrimLeftFunc(text[end:], unicode.IsSpace)
	return Parsed{Name: strings.ToLower(name), Args: rest}
}

// TokenError reports arguments that cannot be split into words, with a
// message fit to show a chat user.
type TokenError struct {
	Reason string
}

func (e *TokenError) Error() string { return e.Reason }

// Tokenize splits raw arguments into words with shell quoting rules
// (github.com/google/shlex), made safe for chat: a word that starts with
// "#" (an issue reference like #123) is kept instead of starting a comment,
// and an unbalanced quote is a TokenError that says how to fix it instead
// of a silently shortened list.
func Tokenize(args string) ([]string, error) {
	if strings.TrimSpace(args) == "" {
		return nil, nil
	}
	// shlex treats '#' at the start of a word as a comment and cannot be
	// told otherwise, so hide '#' behind a rune the text does not contain.
	hash := placeholder(args)
	words, err := shlex.Split(strings.ReplaceAll(args, "#", string(hash)))
	if err != nil {
		return nil, &TokenError{Reason: friendlyShlexError(err)}
	}
	for i, w := range words {
		words[i] = strings.ReplaceAll(w, string(hash), "#")
	}
	return words, nil
}

// placeholder returns a private-use rune that does not occur in s.
func placeholder(s string) rune {
	for r := rune(0xE000); r <= 0xF8FF; r++ {
		if !strings.ContainsRune(s, r) {
			return r
		}
	}
	// Unreachable for any text a chat platform delivers (6400 distinct
	// private-use runes would be needed); fall back to a noncharacter.
	return utf8.MaxRune
}

func friendlyShlexError(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "closing quote"):
		return "a quote is not closed. Close it, or escape a lone apostrophe as \\' (for example: don\\'t)"
	case strings.Contains(msg, "escape character"):
		return "the text ends with a lone backslash. Remove it, or write \\\\ for a literal backslash"
	default:
		return fmt.Sprintf("the arguments could not be split into words (%s)", msg)
	}
}
