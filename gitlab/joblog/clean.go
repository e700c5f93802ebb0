package joblog

import (
	"strings"
	"unicode/utf8"
)

// Clean makes extracted output readable: it strips runner timestamp
// prefixes, section markers that leaked into the text and every ANSI
// escape (CSI, OSC and two-byte escapes), resolves carriage returns,
// backspaces and erase-line codes as a terminal would (progress bars), drops
// other control characters except tabs, and replaces invalid UTF-8 with
// U+FFFD. Lines end at "\n"; "\r\n" is a line end. A timestamped record
// whose flag is "+" continues the previous line (the runner flushed a
// partial line): it is joined to it, as GitLab's log view does.
func Clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var line []rune
	var joined strings.Builder // a line made of several records
	for i := 0; ; i++ {
		raw, rest, more := nextLine(s)
		if more && isContinuation(rest) {
			joined.Reset()
			joined.WriteString(strings.TrimRight(raw, "\r"))
			for more && isContinuation(rest) {
				var next string
				next, rest, more = nextLine(rest)
				joined.WriteString(strings.TrimRight(next[timestampLen:], "\r"))
			}
			raw = joined.String()
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		line = cleanLine(line[:0], raw)
		for _, r := range line {
			b.WriteRune(r)
		}
		if !more {
			return b.String()
		}
		s = rest
	}
}

// nextLine splits s at its first "\n".
func nextLine(s string) (line, rest string, more bool) {
	if j := strings.IndexByte(s, '\n'); j >= 0 {
		return s[:j], s[j+1:], true
	}
	return s, "", false
}

// isContinuation reports a timestamped record flagged "+": the rest of
// the previous line.
func isContinuation(s string) bool {
	return isTimestamp(s) && s[timestampLen-1] == '+'
}

// timestampLen is the length of the prefix newer runners write on every
// line when timestamped logs are on: "2024-05-01T10:00:00.123456Z 01O ".
const timestampLen = 32

// isTimestamp reports whether s begins with
// ^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z [0-9a-f]{2}[EO][+ ].
func isTimestamp(s string) bool {
	const shape = "dddd-dd-ddTdd:dd:dd.ddddddZ hhs+"
	if len(s) < timestampLen {
		return false
	}
	for i := range timestampLen {
		c := s[i]
		switch shape[i] {
		case 'd':
			if !isDigit(c) {
				return false
			}
		case 'h':
			if !isDigit(c) && (c < 'a' || c > 'f') {
				return false
			}
		case 's':
			if c != 'E' && c != 'O' {
				return false
			}
		case '+':
			if c != '+' && c != ' ' {
				return false
			}
		default:
			if c != shape[i] {
				return false
			}
		}
	}
	return true
}

// cleanLine renders one line (without its "\n") into line, as a terminal
// would show it.
func cleanLine(line []rune, s string) []rune {
	s = strings.TrimRight(s, "\r")
	cur := 0 // cursor column
	put := func(r rune) {
		for len(line) < cur {
			line = append(line, ' ')
		}
		if cur < len(line) {
			line[cur] = r
		} else {
			line = append(line, r)
		}
		cur++
	}
	atStart := true // where a timestamp prefix may appear
	for i := 0; i < len(s); {
		if atStart && isTimestamp(s[i:]) {
			i += timestampLen
			if i == len(s) {
				break
			}
		}
		atStart = false
		c := s[i]
		switch {
		case c == 's':
			if out, n, _, _, _ := matchMarker([]byte(s[i:min(len(s), i+maxMarker+8)])); out == isMarker {
				i += n
				continue
			}
			put('s')
			i++
		case c == '\r':
			// A lone CR returns to the line start; the runner may start
			// a new timestamped record there.
			cur, atStart = 0, true
			i++
		case c == '\b':
			cur = max(cur-1, 0)
			i++
		case c == 0x1b:
			n, erase := escapeLen(s[i:])
			switch erase {
			case 'K':
				line = line[:min(cur, len(line))]
			case '1':
				for k := 0; k < min(cur+1, len(line)); k++ {
					line[k] = ' '
				}
			case '2':
				line = line[:0]
			}
			i += n
		case c == '\t' || c >= 0x20 && c < 0x7f:
			put(rune(c))
			i++
		case c < 0x80:
			i++ // other C0 controls and DEL
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			i += n
			if r >= 0x80 && r < 0xa0 {
				continue // C1 controls
			}
			put(r) // utf8.RuneError for invalid bytes
		}
	}
	return line
}

// escapeLen returns the length of the escape sequence at the start of s
// (s[0] is ESC) and, for erase-in-line (CSI n K), 'K', '1' or '2' for
// erasing to the end, from the start, or the whole line.
func escapeLen(s string) (int, byte) {
	if len(s) < 2 {
		return len(s), 0
	}
	switch s[1] {
	case '[': // CSI: parameters 0x30-0x3f, intermediates 0x20-0x2f, final 0x40-0x7e
		i := 2
		for i < len(s) && s[i] >= 0x30 && s[i] <= 0x3f {
			i++
		}
		params := s[2:i]
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
			i++
		}
		if i >= len(s) || s[i] < 0x40 || s[i] > 0x7e {
			return i, 0 // unterminated: drop what was read
		}
		if s[i] == 'K' {
			switch params {
			case "", "0":
				return i + 1, 'K'
			case "1":
				return i + 1, '1'
			case "2":
				return i + 1, '2'
			}
		}
		return i + 1, 0
	case ']', 'P', '_', '^', 'X': // OSC, DCS, APC, PM, SOS: up to BEL or ST
		for i := 2; i < len(s); i++ {
			if s[i] == 0x07 {
				return i + 1, 0
			}
			if s[i] == 0x1b {
				if i+1 < len(s) && s[i+1] == '\\' {
					return i + 2, 0
				}
				return i, 0
			}
		}
		return len(s), 0
	}
	if s[1] >= 0x20 && s[1] <= 0x7e {
		return 2, 0 // two-byte escape such as ESC 7 or ESC (B's first half
	}
	return 1, 0
}
