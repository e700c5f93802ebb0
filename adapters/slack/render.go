package slack

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/chatops-dev/chatops/adapters/internal/chunk"
	"github.com/chatops-dev/chatops/bot"
)

// Slack's limits (https://api.slack.com/reference/block-kit/blocks).
const (
	maxBlocks        = 50
	maxSectionText   = 3000
	maxHeaderText    = 150
	maxFieldText     = 2000
	maxFieldsPerSect = 10
	// maxCode is how much of Reply.Code one message shows (runes, before
	// escaping); more is cut from the start, keeping the tail of a log.
	maxCode = 11000
	// maxFallback bounds the plain `text` Slack shows in notifications.
	maxFallback = 1000
)

// message is a rendered reply: Block Kit blocks plus the plain `text`
// fallback used for notifications and screen readers.
type message struct {
	Text   string
	Blocks []slack.Block
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// render turns a bot.Reply into one Slack message that Slack accepts: at
// most 50 blocks, section texts within 3000 characters, a header within 150,
// code cut to its tail with a note saying so.
func render(r bot.Reply) message {
	var head, fields, code, links []slack.Block
	if r.Title != "" {
		title := cutRunes(r.Status.Emoji()+" "+oneLine(r.Title), maxHeaderText)
		head = append(head, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, true, false)))
	}
	for i := 0; i < len(r.Fields); i += maxFieldsPerSect {
		var objs []*slack.TextBlockObject
		for _, f := range r.Fields[i:min(i+maxFieldsPerSect, len(r.Fields))] {
			txt := "*" + escapeMrkdwn(oneLine(f.Name)) + "*\n" + escapeMrkdwn(f.Value)
			objs = append(objs, mrkdwn(cutRunes(txt, maxFieldText)))
		}
		fields = append(fields, slack.NewSectionBlock(nil, objs, nil))
	}
	if r.Code != "" {
		kept, dropped := bot.TailCut(strings.TrimRight(r.Code, "\n"), maxCode)
		note := r.CodeNote
		if dropped > 0 {
			note = joinNote(note, fmt.Sprintf("%d earlier lines not shown", dropped))
		}
		if note != "" {
			code = append(code, slack.NewContextBlock("", mrkdwn(cutRunes("_"+escapeMrkdwn(oneLine(note))+"_", maxSectionText))))
		}
		fenced := "```\n" + escapeMrkdwn(defang(kept)) + "\n```"
		for _, piece := range chunk.Split(fenced, maxSectionText) {
			code = append(code, slack.NewSectionBlock(mrkdwn(piece), nil, nil))
		}
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
		links = append(links, slack.NewContextBlock("", mrkdwn(cutRunes(strings.Join(parts, "  •  "), maxSectionText))))
	}

	text := r.Text
	if r.Title == "" && r.Status != bot.StatusInfo && text != "" {
		text = r.Status.Emoji() + " " + text
	}
	var body []slack.Block
	if text != "" {
		pieces := chunk.Split(escapeMrkdwn(text), maxSectionText)
		// Text is prose: when it cannot all fit, keep its start.
		room := maxBlocks - len(head) - len(fields) - len(code) - len(links)
		if len(pieces) > room {
			pieces = append(pieces[:max(room-1, 0)], "_(the rest of this message was too long for Slack)_")
		}
		for _, p := range pieces {
			body = append(body, slack.NewSectionBlock(mrkdwn(p), nil, nil))
		}
	}
	var blocks []slack.Block
	for _, part := range [][]slack.Block{head, body, fields, code, links} {
		blocks = append(blocks, part...)
	}
	if len(blocks) > maxBlocks {
		blocks = blocks[:maxBlocks]
	}
	return message{Text: fallback(r), Blocks: blocks}
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
	return escapeMrkdwn(cutRunes(s, maxFallback))
}

// defang stops output that contains ``` from closing the code block.
func defang(code string) string { return strings.ReplaceAll(code, "```", "`\u200b`\u200b`") }

// linkURL keeps a URL from breaking Slack's <url|label> syntax.
func linkURL(u string) string {
	return escapeMrkdwn(strings.NewReplacer("|", "%7C", " ", "%20").Replace(u))
}

func linkLabel(s string) string { return escapeMrkdwn(strings.ReplaceAll(oneLine(s), "|", "¦")) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// cutRunes shortens s to at most n runes, ending with "…" when cut.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
