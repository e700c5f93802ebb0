package joblog

// maxMarker bounds a section marker's length. A longer match of GitLab's
// regex (only possible with absurd names or options) is treated as text in
// every mode, so a streamed log and the same log in one piece always agree
// while the bytes held back between writes stay bounded.
const maxMarker = 512

// Outcomes of matchMarker.
const (
	noMarker = iota // not a marker here
	isMarker        // a complete marker
	needMore        // a proper prefix of a marker: more input decides
)

// matchMarker matches GitLab's marker regex
//
//	section_((?:start)|(?:end)):(\d+):([a-zA-Z0-9_.-]+)(\[(?:\w+=\w+)(?:, ?(?:\w+=\w+))*\])?\r\033\[0K
//
// anchored at the start of b. The regex is deterministic (every optional or
// repeated part is decided by its next byte), so a hand-written matcher
// gives exactly the regex's match, and can also say when b ends inside a
// possible marker. It returns the outcome, the marker's length, whether it
// is a start marker, and the name's bounds.
func matchMarker(b []byte) (outcome, n int, start bool, nameLo, nameHi int) {
	i := 0
	// lit consumes a literal; it reports needMore when b ends inside it.
	lit := func(s string) int {
		for k := 0; k < len(s); k++ {
			if i >= len(b) {
				return needMore
			}
			if b[i] != s[k] {
				return noMarker
			}
			i++
		}
		return isMarker
	}
	// run consumes one or more bytes of class.
	run := func(class func(byte) bool) int {
		lo := i
		for i < len(b) && i < maxMarker && class(b[i]) {
			i++
		}
		switch {
		case i >= maxMarker:
			return noMarker
		case i >= len(b):
			return needMore
		case i == lo:
			return noMarker
		}
		return isMarker
	}
	if r := lit("section_"); r != isMarker {
		return r, 0, false, 0, 0
	}
	if i >= len(b) {
		return needMore, 0, false, 0, 0
	}
	switch b[i] {
	case 's':
		if r := lit("start:"); r != isMarker {
			return r, 0, false, 0, 0
		}
		start = true
	case 'e':
		if r := lit("end:"); r != isMarker {
			return r, 0, false, 0, 0
		}
	default:
		return noMarker, 0, false, 0, 0
	}
	if r := run(isDigit); r != isMarker {
		return r, 0, false, 0, 0
	}
	if r := lit(":"); r != isMarker {
		return r, 0, false, 0, 0
	}
	nameLo = i
	if r := run(isNameByte); r != isMarker {
		return r, 0, false, 0, 0
	}
	nameHi = i
	if b[i] == '[' {
		i++
		for first := true; ; first = false {
			if !first {
				// ", ?" between options; "]" ends them.
				if b[i] == ']' {
					i++
					break
				}
				if r := lit(","); r != isMarker {
					return r, 0, false, 0, 0
				}
				if i >= len(b) {
					return needMore, 0, false, 0, 0
				}
				if b[i] == ' ' {
					i++
				}
			}
			if r := run(isWord); r != isMarker {
				return r, 0, false, 0, 0
			}
			if r := lit("="); r != isMarker {
				return r, 0, false, 0, 0
			}
			if r := run(isWord); r != isMarker {
				return r, 0, false, 0, 0
			}
		}
	}
	if r := lit("\r\x1b[0K"); r != isMarker {
		return r, 0, false, 0, 0
	}
	if i > maxMarker {
		return noMarker, 0, false, 0, 0
	}
	return isMarker, i, start, nameLo, nameHi
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || c == '_'
}

func isNameByte(c byte) bool { return isWord(c) || c == '.' || c == '-' }
