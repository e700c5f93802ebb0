package slack

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/chatops-dev/chatops/adapters/internal/chunk"
	"github.com/chatops-dev/chatops/adapters/internal/markdown"
	"github.com/chatops-dev/chatops/adapters/internal/mdoc"
	"github.com/chatops-dev/chatops/bot"
)

// Slack's limits (https://api.slack.com/reference/block-kit/blocks).
const (
	maxBlocks        = 50
	maxSectionText   = 3000
	maxHeaderText    = 150
	maxFieldText     = 2000
	maxFieldsPerSect = 10
	// maxMessageText bounds the sum of all text in one message's blocks,
	// counted as sent (escaped). Slack rejects messages whose blocks hold
	// more than somewhere between about 11,300 and 13,300 characters in
	// total, depending on the content (msg_blocks_too_long, undocumented;
	// slackapi/bolt-js#2509), far below 50 blocks of 3000. 9,000 leaves
	// room; a rejection still re-renders at half (see Send).
	maxMessageText = 9000
	// maxFields and fieldsBudget keep the compact facts compact.
	maxFields    = 20
	fieldsBudget = 2400
	linksBudget  = 1500
	noteBudget   = 300
	// maxFallback bounds the plain `text` Slack shows in notifications
	// (Slack now refuses top-level text of about 4000 characters).
	maxFallback = 1000
	// fenceCost is what wrapping a piece in ``` fences adds.
	fenceCost = len("```\n") + len("\n```")
)

// message is a rendered reply: Block Kit blocks plus the plain `text`
// fallback used for notifications and screen readers.
type message struct {
	Text   string
	Blocks []slack.Block
}

// mrkdwn is a mrkdwn text object. verbatim stays false, so Slack keeps
// auto-linking bare URLs; the mentions it might parse in turn are defused
// in the text (see escapeText).
func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// render turns a bot.Reply into one Slack message that Slack accepts
// (edits replace one message, so a reply is never spread over several):
// a header within 150 characters, sections within 3000, all text within
// maxMessageText. When it is too long, code keeps its tail (the end of a
// log matters most) with a note saying how many lines were cut, and prose
// keeps its start.
func render(r bot.Reply) message { return renderWithin(r, maxMessageText) }

// renderWithin is render with budget characters of block text.
func renderWithin(r bot.Reply, budget int) message {
	rem := budget
	var head, fields, links, note []slack.Block
	if r.Title != "" {
		// A plain_text header: Slack reads no markup in it, but its
		// mentions are defused all the same, as everywhere outside code.
		title := cutRunes(r.Status.Emoji()+" "+markdown.DefuseMentions(oneLine(r.Title), ""), maxHeaderText)
		rem -= runeLen(title)
		head = append(head, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, true, false)))
	}
	if len(r.Links) > 0 {
		var parts []string
		for _, l := range r.Links {
			label := l.Label
			if label == "" {
				label = l.URL
			}
			parts = append(parts, "<"+linkURL(l.URL)+"|"+linkLabel(label)+">")
		}
		s := cutLinks(parts, linksBudget)
		rem -= runeLen(s)
		links = append(links, slack.NewContextBlock("", mrkdwn(s)))
	}
	if n := min(len(r.Fields), maxFields); n > 0 {
		per := min(maxFieldText, max(fieldsBudget/n, 40))
		for i := 0; i < n; i += maxFieldsPerSect {
			var objs []*slack.TextBlockObject
			for _, f := range r.Fields[i:min(i+maxFieldsPerSect, n)] {
				txt := cutEscaped("*"+escapeText(oneLine(f.Name))+"*\n"+escapeText(f.Value), per)
				rem -= runeLen(txt)
				objs = append(objs, mrkdwn(txt))
			}
			fields = append(fields, slack.NewSectionBlock(nil, objs, nil))
		}
	}

	// Prose, Markdown and code share what is left. Code gets at least
	// two thirds when prose and code do not fit; Markdown, written to be
	// read, what prose leaves of it (half, when there is code too).
	prose := r.Text
	if r.Title == "" && r.Status != bot.StatusInfo && prose != "" {
		prose = r.Status.Emoji() + " " + prose
	}
	prose = escapeText(prose)
	code := strings.TrimRight(r.Code, "\n")
	codeNote := r.CodeNote
	rem -= runeLen(codeNote) + 2 // the note is charged up front; a cut note is added below
	var md []slack.Block
	if r.Markdown != "" {
		prose = cutProse(prose, min(runeLen(prose), rem/3))
		room := rem - runeLen(prose)
		if code != "" {
			room /= 2
		}
		// Blocks left for the Markdown once everything else has its own.
		others := len(head) + len(fields) + len(links) + 1 + runeLen(prose)/maxSectionText + 1 // +1: the note
		if len(r.Actions) > 0 {
			others++
		}
		if code != "" {
			others += rem/maxSectionText + 2
		}
		var used int
		md, used = markdownSections(r.Markdown, room, maxBlocks-others)
		rem -= used
	}
	if code != "" {
		rem -= noteBudget / 4
		need := runeLen(escapeMrkdwn(code)) + fenceCost
		proseRoom := min(runeLen(prose), max(rem/3, rem-need))
		prose = cutProse(prose, proseRoom)
		var dropped int
		code, dropped = tailToFit(code, rem-runeLen(prose))
		if dropped > 0 {
			codeNote = joinNote(codeNote, fmt.Sprintf("%d earlier lines not shown", dropped))
		}
	} else {
		prose = cutProse(prose, rem)
	}

	var body, codeBlocks []slack.Block
	if prose != "" {
		for _, p := range chunk.Split(prose, maxSectionText) {
			body = append(body, slack.NewSectionBlock(mrkdwn(p), nil, nil))
		}
	}
	if codeNote != "" {
		note = append(note, slack.NewContextBlock("", mrkdwn(cutRunes("_"+escapeText(oneLine(codeNote))+"_", noteBudget))))
	}
	if code != "" {
		for _, piece := range chunk.Split(fence(code), maxSectionText) {
			codeBlocks = append(codeBlocks, slack.NewSectionBlock(mrkdwn(piece), nil, nil))
		}
	}
	var blocks []slack.Block
	for _, part := range [][]slack.Block{head, body, fields, md, note, codeBlocks, links} {
		blocks = append(blocks, part...)
	}
	buttons := actionBlocks(r.Actions)
	blocks = blocks[:min(len(blocks), maxBlocks-len(buttons))]
	return message{Text: fallback(r), Blocks: append(blocks, buttons...)}
}

// markdownSections renders a job's Markdown as mrkdwn sections holding
// at most room characters (as sent, escaped) in at most maxSections
// blocks, keeping its start when it does not fit (see mdoc.Fit: a cut
// falls between blocks, lines or words and is followed by a note). It
// returns the sections and the characters they hold.
func markdownSections(src string, room, maxSections int) ([]slack.Block, int) {
	if room <= 0 || maxSections <= 0 {
		return nil, 0
	}
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return chunk.Split(s, maxSectionText)
	}
	text, _ := mdoc.Fit(mdoc.Parse(src), func(d *mdoc.Node, cut bool) string {
		s := toMrkdwn(d)
		if cut {
			if s != "" {
				s += "\n\n"
			}
			s += mdCutNote
		}
		return s
	}, func(s string) bool {
		pieces := split(s)
		n := 0
		for _, p := range pieces {
			n += runeLen(p)
		}
		return n <= room && len(pieces) <= maxSections
	})
	var blocks []slack.Block
	used := 0
	for _, p := range split(text) {
		if strings.TrimSpace(p) == "" {
			continue // Slack refuses a section of blanks
		}
		used += runeLen(p)
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(p), nil, nil))
	}
	return blocks, used
}

// actionBlocks renders a reply's actions as one Block Kit actions block
// of buttons (Slack: at most 25 elements, button text at most 75
// characters). A click comes back as a block_actions interaction whose
// action_id is the Action's ID (see fromBlockAction).
func actionBlocks(actions []bot.Action) []slack.Block {
	if len(actions) == 0 {
		return nil
	}
	var els []slack.BlockElement
	for _, a := range actions[:min(len(actions), 25)] {
		b := slack.NewButtonBlockElement(a.ID, a.ID, slack.NewTextBlockObject(slack.PlainTextType, cutRunes(a.Label, 75), false, false))
		switch a.Style {
		case bot.ActionPrimary:
			b.Style = slack.StylePrimary
		case bot.ActionDanger:
			b.Style = slack.StyleDanger
		}
		els = append(els, b)
	}
	return []slack.Block{slack.NewActionBlock("actions", els...)}
}

// fence renders code as an escaped ``` block.
func fence(code string) string { return "```\n" + escapeMrkdwn(defang(code)) + "\n```" }

// tailToFit keeps the end of code so that its escaped, fenced and split
// form fits in room characters, counting what Slack counts: the escaped
// text (one "<" is four characters as "&lt;"). It returns the kept code
// and how many lines were dropped.
func tailToFit(code string, room int) (string, int) {
	// Every section chunk.Split makes costs another pair of fences.
	budget := room - fenceCost*(2+room/maxSectionText)
	if budget <= 0 {
		return "", strings.Count(code, "\n") + 1
	}
	lines := strings.Split(code, "\n")
	used, i := 0, len(lines)
	for i > 0 {
		n := escapedLen(lines[i-1]) + 1
		if used+n > budget {
			break
		}
		used += n
		i--
	}
	if i < len(lines) {
		return strings.Join(lines[i:], "\n"), i
	}
	// Even the last line alone is too long: keep its end.
	last := []rune(lines[len(lines)-1])
	j := len(last)
	for used = 0; j > 0; j-- {
		n := escapedLen(string(last[j-1]))
		if used+n > budget {
			break
		}
		used += n
	}
	return string(last[j:]), len(lines) - 1
}

// escapedLen is the length of a code line as Slack receives it.
func escapedLen(s string) int { return runeLen(escapeMrkdwn(defang(s))) }

// cutProse keeps the start of escaped text within n characters, at a line
// end where one is near, saying that the rest was cut.
func cutProse(s string, n int) string {
	if runeLen(s) <= n {
		return s
	}
	const marker = "\n_… (the rest was too long for Slack)_"
	keep := max(n-runeLen(marker), 0)
	cut := cutEscaped(s, keep+1) // +1: cutEscaped's own "…" is replaced below
	cut = strings.TrimSuffix(cut, "…")
	if i := strings.LastIndexByte(cut, '\n'); i > len(cut)*4/5 {
		cut = cut[:i]
	}
	return cut + marker
}

// cutEscaped is cutRunes that never leaves half an entity (&amp;) behind.
func cutEscaped(s string, n int) string {
	if runeLen(s) <= n {
		return s
	}
	cut := strings.TrimSuffix(cutRunes(s, n), "…")
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && len(cut)-i < len("&amp;") && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	return cut + "…"
}

// cutLinks joins links, dropping whole links that do not fit.
func cutLinks(parts []string, n int) string {
	s := strings.Join(parts, "  •  ")
	for len(parts) > 1 && runeLen(s) > n {
		parts = parts[:len(parts)-1]
		s = strings.Join(parts, "  •  ")
	}
	if runeLen(s) > n {
		return "" + cutEscaped(s, n) // a single huge link: better cut than rejected
	}
	return s
}

// fallback is the short plain text for notifications.
func fallback(r bot.Reply) string {
	s := r.Title
	if s == "" {
		s = r.Text
	} else if r.Text != "" {
		s += "\n" + r.Text
	}
	if s == "" {
		s = r.Plain()
	}
	if r.Status != bot.StatusInfo || r.Title != "" {
		s = r.Status.Emoji() + " " + s
	}
	return cutEscaped(escapeText(s), maxFallback)
}

// defang stops output that contains ``` from closing the code block.
func defang(code string) string { return strings.ReplaceAll(code, "```", "`\u200b`\u200b`") }

// linkURL keeps a URL from breaking Slack's <url|label> syntax.
func linkURL(u string) string {
	return escapeMrkdwn(strings.NewReplacer("|", "%7C", " ", "%20").Replace(u))
}

func linkLabel(s string) string { return escapeText(strings.ReplaceAll(oneLine(s), "|", "¦")) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// cutRunes shortens s to at most n runes, ending with "…" when cut.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
