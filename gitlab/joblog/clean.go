package joblog

import (
	"regexp"
	"strings"
)

var (
	// Newer runners prefix every line with a timestamp and stream id when
	// timestamped logs are on (32 bytes).
	timestampRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z [0-9a-f]{2}[EO][+ ]`)
	// Section markers that leaked into the text.
	sectionRe = regexp.MustCompile(`section_(?:start|end):\d+:[a-zA-Z0-9_.-]+(?:\[[^\]\r\n]*\])?\r?(?:\x1b\[0K)?`)
	// ANSI escapes: CSI sequences, OSC strings, and two-byte escapes.
	ansiRe = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?`)
)

// Clean makes extracted output readable: it replaces invalid UTF-8, strips
// runner timestamps, leaked section markers and ANSI escapes, resolves
// carriage-return overwrites as a terminal would (progress bars), and
// drops other control characters except tabs.
func Clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		line = timestampRe.ReplaceAllString(line, "")
		line = sectionRe.ReplaceAllString(line, "")
		line = ansiRe.ReplaceAllString(line, "")
		line = overwrite(line)
		lines[i] = dropControls(line)
	}
	return strings.Join(lines, "\n")
}

// overwrite resolves "\r" inside a line: each segment after a carriage
// return is written over the line from its start.
func overwrite(line string) string {
	if !strings.Contains(line, "\r") {
		return line
	}
	var cur []rune
	for _, seg := range strings.Split(line, "\r") {
		r := []rune(seg)
		if len(r) >= len(cur) {
			cur = r
			continue
		}
		copy(cur, r)
	}
	return string(cur)
}

func dropControls(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
