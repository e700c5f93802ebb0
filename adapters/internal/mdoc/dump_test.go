package mdoc

import (
	"fmt"
	"strings"
)

var kindNames = [...]string{"doc", "p", "h", "quote", "list", "item", "codeblock", "rule", "table", "row", "cell",
	"text", "em", "strong", "strike", "code", "link", "br"}

// dump writes a tree one node a line, for comparing trees in tests.
func dump(n *Node) string {
	var b strings.Builder
	var walk func(*Node, int)
	walk = func(n *Node, depth int) {
		b.WriteString(strings.Repeat("  ", depth) + kindNames[n.Kind])
		switch n.Kind {
		case Heading:
			fmt.Fprintf(&b, " %d", n.Level)
		case List:
			if n.Ordered {
				fmt.Fprintf(&b, " ordered from %d", n.Start)
			}
		case CodeBlock:
			fmt.Fprintf(&b, " %q %q", n.Info, n.Text)
		case Table:
			fmt.Fprintf(&b, " %v", n.Align)
		case Text, Code:
			fmt.Fprintf(&b, " %q", n.Text)
		case Link:
			fmt.Fprintf(&b, " %s", n.URL)
		}
		b.WriteString("\n")
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}
