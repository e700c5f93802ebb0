package slack

import (
	"strings"
	"unicode"

	"github.com/chatops-dev/chatops/adapters/internal/markdown"
)

// entities are the only three HTML entities Slack puts in message text.
var (
	unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
	escaper   = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
)

// escapeMrkdwn escapes text for Slack mrkdwn and plain `text` fields, which
// treat & < > as markup.
func escapeMrkdwn(s string) string { return escaper.Replace(s) }

// escapeText is escapeMrkdwn for text outside code (prose, fields, notes,
// link labels, a job's Markdown), with its mentions defused: every @ that
// starts a word is followed by a zero-width joiner. The adapter's mrkdwn
// text objects keep verbatim false, which Slack documents as also
// "automatically parsing certain mentions" without saying which: a bare
// @here, @channel or @everyone in job output or echoed user text might
// notify a channel. Defusing guarantees it cannot, whatever Slack parses,
// and keeps what verbatim true would lose: bare URLs (a pipeline's, in the
// bot's text) auto-linked. Code (``` blocks, spans) is shown as written:
// Slack parses nothing in it. The escape (no "<") already keeps explicit
// <!here> and <@U…> mentions out.
func escapeText(s string) string { return escapeMrkdwn(markdown.DefuseMentions(s, "")) }

// parseText turns the text of a Slack message into what the router reads:
// a mention of the bot at the start (after optional whitespace, optionally
// followed by ":" or ",") is removed and reported, and Slack's markup is
// undone (see unescapeText). Mentions elsewhere are kept as "@name".
func parseText(raw, botUserID string) (text string, mentioned bool) {
	rest := strings.TrimLeftFunc(raw, unicode.IsSpace)
	if botUserID != "" && strings.HasPrefix(rest, "<@"+botUserID) {
		after := rest[len("<@")+len(botUserID):]
		if end := strings.IndexByte(after, '>'); end >= 0 && (end == 0 || after[0] == '|') {
			mentioned = true
			rest = after[end+1:]
			rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
			rest = strings.TrimPrefix(strings.TrimPrefix(rest, ":"), ",")
		}
	}
	return strings.TrimSpace(unescapeText(rest)), mentioned
}

// unescapeText undoes Slack's message markup so commands see what the user
// typed: <@U123> and <@U123|name> become @U123 and @name, <#C1|general>
// becomes #general, <!here> becomes @here, <https://x|label> becomes the
// label the user typed (or the URL when there is none), and the entities
// &amp; &lt; &gt; become & < >. A "<" without a closing ">" is kept.
func unescapeText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		open := strings.IndexByte(s, '<')
		if open < 0 {
			b.WriteString(s)
			break
		}
		end := strings.IndexByte(s[open:], '>')
		if end < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:open])
		b.WriteString(markup(s[open+1 : open+end]))
		s = s[open+end+1:]
	}
	return unescaper.Replace(b.String())
}

// markup renders the inside of one <...> sequence.
func markup(inner string) string {
	target, label, hasLabel := strings.Cut(inner, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		if hasLabel && label != "" {
			return "@" + strings.TrimPrefix(label, "@")
		}
		return target
	case strings.HasPrefix(target, "#"):
		if hasLabel && label != "" {
			return "#" + strings.TrimPrefix(label, "#")
		}
		return target
	case strings.HasPrefix(target, "!"):
		// <!here>, <!channel>, <!subteam^S1|@team>, <!date^...|fallback>.
		if hasLabel && label != "" {
			return label
		}
		name, _, _ := strings.Cut(target[1:], "^")
		return "@" + name
	default:
		if hasLabel && label != "" {
			return label
		}
		return target
	}
}
