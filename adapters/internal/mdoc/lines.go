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

// ListItem lays out a list item: marker, then the first line of body;
// the other lines are prefixed with indent, which keeps them inside the
// item.
func ListItem(marker, body, indent string) string {
	first, rest, more := strings.Cut(body, "\n")
	if !more {
		return marker + first
	}
	return marker + first + "\n" + PrefixLines(rest, indent, "")
}

// Mark renders inline content inside a mark (bold, italic, strike) that
// dialects cannot nest in itself: *on says the mark is open already, and
// then the content is rendered bare. Content that is blank gets no mark
// (a dialect would show the marks literally); ok reports whether wrap
// was applied.
func Mark(on *bool, render func() string, wrap func(string) string) (s string, ok bool) {
	if *on {
		return render(), false
	}
	*on = true
	s = render()
	*on = false
	if strings.TrimSpace(s) == "" {
		return s, false
	}
	return wrap(s), true
}

// MarkInline is Mark for renderers that track whether the text is at the
// start of a line (*bol, where "-" or ">" would start a block): the
// content follows the opening mark, so it is not at the line's start;
// after it, the line is past its start when marks were written, and where
// it was when the blank content got none. Nested content is rendered as
// it comes.
func MarkInline(on, bol *bool, mark string, render func() string) string {
	nested, was := *on, *bol
	s, marked := Mark(on, func() string {
		if !nested {
			*bol = false
		}
		return render()
	}, func(s string) string { return mark + s + mark })
	switch {
	case marked:
		*bol = false
	case !nested:
		*bol = was
	}
	return s
}
