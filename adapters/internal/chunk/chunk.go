// Package chunk splits rendered markdown into pieces that fit a chat
// platform's per-message limit without breaking code blocks, shared by the
// Slack, Mattermost and Discord renderers.
package chunk

import (
	"strings"
	"unicode/utf8"
)

const fence = "```"

// Split cuts text into pieces of at most limit runes each. It cuts at line
// ends where it can (inside a very long line, at a rune boundary), and when
// a cut falls inside a ``` code block it closes the block at the end of one
// piece and reopens it (with the same info string) at the start of the next,
// so every piece renders on its own. limit must leave room for the fences
// (at least 16 runes); smaller limits are raised to 16.
func Split(text string, limit int) []string {
	limit = max(limit, 16)
	if utf8.RuneCountInString(text) <= limit {
		return []string{text}
	}
	var (
		pieces  []string
		cur     strings.Builder
		curLen  int
		inCode  bool
		openTag string // the opening fence line, e.g. "```shell"
	)
	// flush ends the current piece, closing an open code block, and
	// reopens the block in the next piece when reopen is set.
	flush := func(reopen bool) {
		s := cur.String()
		if inCode {
			s = strings.TrimSuffix(s, "\n") + "\n" + fence
		}
		pieces = append(pieces, strings.TrimSuffix(s, "\n"))
		cur.Reset()
		curLen = 0
		if inCode && reopen {
			cur.WriteString(openTag + "\n")
			curLen = utf8.RuneCountInString(openTag) + 1
		}
	}
	// reserve is what closing an open block costs at the end of a piece.
	reserve := func() int {
		if inCode {
			return len(fence) + 1
		}
		return 0
	}
	lines := strings.SplitAfter(text, "\n")
	for _, line := range lines {
		if line == "" {
			continue
		}
		n := utf8.RuneCountInString(line)
		trimmed := strings.TrimSpace(line)
		togglesFence := strings.HasPrefix(trimmed, fence)
		// An opening fence line must leave room for the fence that will
		// close its block in this piece.
		extra := reserve
		if togglesFence && !inCode {
			extra = func() int { return len(fence) + 1 }
		}
		if curLen+n+extra() > limit && curLen > 0 {
			if inCode && togglesFence {
				// The closing fence does not fit: ending the piece closes
				// the block already, so the fence line itself is done.
				flush(false)
				inCode = false
				continue
			}
			flush(true)
		}
		// A line that alone exceeds the room left is cut at rune boundaries.
		for curLen+n+extra() > limit {
			room := limit - curLen - extra()
			if room <= 0 {
				flush(true)
				continue
			}
			head, tail := splitRunes(line, room)
			cur.WriteString(head)
			curLen += room
			line, n = tail, utf8.RuneCountInString(tail)
			flush(true)
		}
		cur.WriteString(line)
		curLen += n
		if togglesFence {
			if inCode {
				inCode = false
			} else {
				inCode = true
				openTag = strings.TrimRight(trimmed, "\r\n")
			}
		}
	}
	if curLen > 0 {
		s := cur.String()
		// A piece that is only a reopened fence carries nothing.
		if !(inCode && strings.TrimSpace(s) == openTag) {
			pieces = append(pieces, strings.TrimSuffix(s, "\n"))
		}
	}
	return pieces
}

func splitRunes(s string, n int) (string, string) {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i], s[i:]
}
