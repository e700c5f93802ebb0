package mdoc

import "strings"

// AlignedTable renders a Table as plain text in aligned columns under
// a rule of dashes, for a code block (or monospace text) on platforms
// without tables. Cells show their text without markup.
func AlignedTable(n *Node) string {
	cols := len(n.Align)
	cells := make([][]string, len(n.Children))
	width := make([]int, cols)
	for i, row := range n.Children {
		cells[i] = make([]string, cols)
		for c := range cols {
			if c < len(row.Children) {
				cells[i][c] = strings.TrimSpace(Plain(row.Children[c].Children))
			}
			width[c] = max(width[c], Width(cells[i][c]))
		}
	}
	var b strings.Builder
	line := func(row []string) {
		var l strings.Builder
		for c, s := range row {
			if c > 0 {
				l.WriteString("  ")
			}
			l.WriteString(pad(s, width[c], n.Align[c]))
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	for i, row := range cells {
		line(row)
		if i == 0 {
			rule := make([]string, cols)
			for c := range rule {
				rule[c] = strings.Repeat("-", max(width[c], 1))
			}
			line(rule)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// pad fills s to width runes as the column's alignment says.
func pad(s string, width int, a Align) string {
	gap := width - Width(s)
	if gap <= 0 {
		return s
	}
	switch a {
	case AlignRight:
		return strings.Repeat(" ", gap) + s
	case AlignCenter:
		return strings.Repeat(" ", gap/2) + s + strings.Repeat(" ", gap-gap/2)
	}
	return s + strings.Repeat(" ", gap)
}
