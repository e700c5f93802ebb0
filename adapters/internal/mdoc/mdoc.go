// Package mdoc turns Markdown written by someone the bot does not trust (a
// job's chat_reply.md) into a small document tree that the adapters'
// renderers walk, one per platform dialect, and cuts that tree to fit a
// message.
//
// Parsing is goldmark's (CommonMark with GitHub's tables, strikethrough,
// task lists and bare-URL links), so nesting, escapes and code spans are
// read as every CommonMark renderer reads them. The tree keeps only what a
// chat can show, already made safe: text is plain text (escapes and
// entities resolved, never markup), links are absolute http, https or
// mailto URLs only, images are links to the image, raw HTML is text and
// HTML comments are dropped. Renderers then escape text for their own
// dialect; nothing in a Node is trusted markup.
package mdoc

import (
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// Kind says what a Node is.
type Kind uint8

// Kinds of nodes. Block kinds hold blocks or inlines; inline kinds hold
// inlines or, for Text and Code, their Text.
const (
	// Document is the root; its children are blocks.
	Document Kind = iota
	// Paragraph holds inlines.
	Paragraph
	// Heading holds inlines; Level is 1 to 6.
	Heading
	// Quote is a block quote holding blocks.
	Quote
	// List holds Items; Ordered lists count from Start.
	List
	// Item is a list item holding blocks.
	Item
	// CodeBlock is preformatted Text (lines ending in "\n") in the
	// language Info ("" when none was given).
	CodeBlock
	// Rule is a thematic break.
	Rule
	// Table holds Rows, the first of which is the header; Align has one
	// entry per column.
	Table
	// Row holds Cells.
	Row
	// Cell holds inlines.
	Cell
	// Text is plain text (no line breaks).
	Text
	// Emphasis is italic text, holding inlines.
	Emphasis
	// Strong is bold text, holding inlines.
	Strong
	// Strike is struck-through text, holding inlines.
	Strike
	// Code is a code span: Text, shown verbatim.
	Code
	// Link is a link to URL whose label is its inlines.
	Link
	// Break is a hard line break.
	Break
)

// Align is a table column's alignment.
type Align uint8

// Column alignments.
const (
	AlignNone Align = iota
	AlignLeft
	AlignCenter
	AlignRight
)

// Node is one element of a document.
type Node struct {
	Kind Kind
	// Text is the content of Text, Code and CodeBlock nodes.
	Text string
	// Level is a Heading's level, 1 to 6.
	Level int
	// Info is a CodeBlock's language, one word.
	Info string
	// URL is a Link's destination: absolute http, https or mailto.
	URL string
	// Ordered and Start describe a List.
	Ordered bool
	Start   int
	// Align has a Table's column alignments.
	Align []Align
	// Children are the node's blocks or inlines.
	Children []*Node
	// Truncated marks a Document parsed from the start of a longer
	// source (see MaxSource): renderers say it was cut.
	Truncated bool
}

// IsBlock reports kinds that stand on lines of their own.
func (k Kind) IsBlock() bool { return k <= Cell }

var parser = goldmark.New(goldmark.WithExtensions(
	extension.Table, extension.Strikethrough, extension.TaskList, extension.Linkify,
)).Parser()

// MaxSource is how much of a source Parse reads: twice the largest
// message any platform takes (Mattermost's 16383 characters), so the
// start a reply shows is always read whole, while the parser's cost,
// which grows faster than the input on some constructs (a line of
// thousands of nested quote markers or unclosed brackets costs goldmark
// seconds at 64 KiB), stays about a quarter of what 64 KiB would cost.
const MaxSource = 32 << 10

// Parse reads CommonMark (with GitHub's tables, ~~strikethrough~~, task
// list items and bare URLs as links) into a Document. Invalid UTF-8 and
// NUL bytes become U+FFFD, so every string in the tree is valid UTF-8.
// A source over MaxSource is read up to its last line break within it
// (or a character boundary, for one long line), and the Document says it
// is Truncated.
func Parse(src string) *Node {
	doc := &Node{Kind: Document}
	if len(src) > MaxSource {
		cut := strings.LastIndexByte(src[:MaxSource], '\n') + 1
		if cut == 0 {
			cut = MaxSource
			for cut > 0 && !utf8.RuneStart(src[cut]) {
				cut--
			}
		}
		src, doc.Truncated = src[:cut], true
	}
	src = strings.ReplaceAll(strings.ToValidUTF8(src, "\uFFFD"), "\x00", "\uFFFD")
	source := []byte(src)
	root := parser.Parse(text.NewReader(source))
	c := converter{source: source}
	doc.Children = c.blocks(root)
	return doc
}
