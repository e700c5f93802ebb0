// Package chunk splits rendered markdown into pieces that fit a chat
// platform's per-message limit without breaking code blocks, shared by the
// Slack, Mattermost and Discord renderers.
package chunk

import (
	"strings"
	"unicode/utf8"
)

const fence = "```"

// maxReopenInfo bounds the info string a reopened block repeats. A longer
// opening line is more likely text pasted after the fence than a language
// tag, and repeating it in every piece would eat the room that piece has
// for content (or, past the limit, leave none at all).
const maxReopenInfo = 32

// Split cuts text into pieces of at most limit runes each. It cuts at line
// ends where it can (inside a very long line, at a rune boundary), and when
// a cut falls inside a ``` code block it closes the block at the end of one
// piece and reopens it (with the same info string) at the start of the next,
// so every piece renders on its own; an info string longer than 32 bytes
// is not repeated (the block reopens with a plain fence). limit must leave
// room for the fences (at least 16 runes); smaller limits are raised to 16.
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
		bare    string // what the current piece holds when it is only a reopened fence
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
		bare = ""
		if inCode && reopen {
			tag := openTag
			// The reopened fence, its line end, the closing fence and one
			// rune of content must fit, or the next piece could carry
			// nothing and the cut would never advance. A plain fence
			// always fits in the minimum limit.
			if utf8.RuneCountInString(tag)+1+len(fence)+1+1 > limit {
				tag = fence
			}
			bare = tag + "\n"
			cur.WriteString(bare)
			curLen = utf8.RuneCountInString(bare)
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
		opens, closes := togglesFence && !inCode, togglesFence && inCode
		// An opening fence line must leave room for the fence that will
		// close its block in this piece.
		extra := reserve()
		if opens {
			extra = len(fence) + 1
		}
		if curLen+n+extra > limit && curLen > 0 {
			if closes {
				// The closing fence does not fit: ending the piece closes
				// the block already, so the fence line itself is done.
				flush(false)
				inCode = false
				continue
			}
			flush(true)
		}
		if opens {
			// The block is open from its fence line on, so that an opening
			// line cut below (longer than a piece) is closed and reopened
			// like the block's content.
			inCode = true
			openTag = fence
			if info := strings.TrimPrefix(trimmed, fence); len(info) <= maxReopenInfo {
				openTag = trimmed
			}
		}
		// A line that alone exceeds the room left is cut at rune boundaries.
		// Each round writes at least one rune: flush leaves room for one.
		for curLen+n+extra > limit {
			room := limit - curLen - extra
			if room <= 0 {
				flush(true)
				continue
			}
			head, tail := splitRunes(line, room)
			cur.WriteString(head)
			curLen += room
			line, n = tail, n-room // not a recount: that is quadratic in a long line
			flush(true)
		}
		cur.WriteString(line)
		curLen += n
		if closes {
			inCode = false
		}
	}
	if curLen > 0 {
		s := cur.String()
		// A piece that is only a reopened fence carries nothing.
		if !(inCode && bare != "" && strings.TrimSpace(s) == strings.TrimSpace(bare)) {
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
