package mdoc

import "strings"

// Renderers write containers line by line: a container renders its
// children, then puts its mark before each of their lines.

// PrefixLines puts prefix before every line of s, and blank before the
// empty ones (a quote's ">" without its trailing space, or nothing).
func PrefixLines(s, prefix, blank string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = blank
		} else {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

var bullets = []string{"•", "◦", "▪"}

// Bullet is the mark of a list item at a nesting depth (0 at the top), for
// dialects that draw lists themselves: •, then ◦, then ▪, as Slack's own
// lists.
func Bullet(depth int) string { return bullets[min(max(depth, 0), len(bullets)-1)] }
