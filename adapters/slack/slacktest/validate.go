package slacktest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// How Slack judges a message before it takes it (CheckMessage).

// Slack's documented limits, enforced the way Slack rejects them.
const (
	maxBlocks       = 50
	maxSectionText  = 3000
	maxFieldText    = 2000
	maxFields       = 10
	maxHeaderText   = 150
	maxContextElems = 10
	// maxMessageText: Slack documents 40,000 but now refuses top-level
	// text of about 4,000 characters with msg_too_long.
	maxMessageText = 4000
	// The sum of all text in a message's blocks: Slack answers
	// msg_blocks_too_long well below 50 blocks of 3000, at a point that
	// moves with the content, observed between about 11,300 and 13,300
	// characters (slackapi/bolt-js#2509). The fake models it as 13,300 for
	// plain prose, falling to 11,300 as the share of markup and entity
	// characters (& ; < > * _ ~ ` and newlines) rises to one half.
	maxBlocksTextPlain  = 13300
	maxBlocksTextMarkup = 11300
)

// BlocksTextLimit is where the fake rejects text with
// msg_blocks_too_long: it depends on the content, see maxBlocksTextPlain.
func BlocksTextLimit(text string) int {
	n, markup := 0, 0
	for _, r := range text {
		n++
		if strings.ContainsRune("&;<>*_~`\n", r) {
			markup++
		}
	}
	if n == 0 {
		return maxBlocksTextPlain
	}
	share := min(1, 2*float64(markup)/float64(n))
	return maxBlocksTextPlain - int(share*float64(maxBlocksTextPlain-maxBlocksTextMarkup))
}

// CheckMessage checks a message the way Slack's chat.postMessage does,
// returning Slack's error code and detail messages, or "" when Slack would
// accept it. Renderer tests can use it without a server.
func CheckMessage(text string, blocks json.RawMessage) (string, []string) {
	if runeLen(text) > maxMessageText {
		return "msg_too_long", nil
	}
	if len(blocks) == 0 {
		if strings.TrimSpace(text) == "" {
			return "no_text", nil
		}
		return "", nil
	}
	var bs []struct {
		Type     string            `json:"type"`
		Text     *textObject       `json:"text"`
		Fields   []textObject      `json:"fields"`
		Elements []json.RawMessage `json:"elements"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		return "invalid_blocks_format", []string{err.Error()}
	}
	var errs []string
	total := 0
	var all strings.Builder
	bad := func(i int, format string, args ...any) {
		errs = append(errs, fmt.Sprintf(format, args...)+fmt.Sprintf(" [json-pointer:/blocks/%d]", i))
	}
	if len(bs) > maxBlocks {
		errs = append(errs, fmt.Sprintf("no more than %d items allowed [json-pointer:/blocks]", maxBlocks))
	}
	for i, b := range bs {
		if b.Text != nil {
			total += runeLen(b.Text.Text)
			all.WriteString(b.Text.Text)
		}
		for _, f := range b.Fields {
			total += runeLen(f.Text)
			all.WriteString(f.Text)
		}
		for _, raw := range b.Elements {
			var t textObject
			if json.Unmarshal(raw, &t) == nil {
				total += runeLen(t.Text)
				all.WriteString(t.Text)
			}
		}
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" {
				bad(i, "must provide a plain_text object")
			} else if n := runeLen(b.Text.Text); n == 0 || n > maxHeaderText {
				bad(i, "must be between 1 and %d characters", maxHeaderText)
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				bad(i, "must provide either text or fields")
			}
			if b.Text != nil && (runeLen(b.Text.Text) == 0 || runeLen(b.Text.Text) > maxSectionText) {
				bad(i, "must be between 1 and %d characters", maxSectionText)
			}
			if len(b.Fields) > maxFields {
				bad(i, "no more than %d fields allowed", maxFields)
			}
			for _, f := range b.Fields {
				if n := runeLen(f.Text); n == 0 || n > maxFieldText {
					bad(i, "field must be between 1 and %d characters", maxFieldText)
				}
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > maxContextElems {
				bad(i, "must provide between 1 and %d elements", maxContextElems)
			}
			for _, raw := range b.Elements {
				var t textObject
				if json.Unmarshal(raw, &t) == nil && runeLen(t.Text) > maxSectionText {
					bad(i, "element text must be at most %d characters", maxSectionText)
				}
			}
		case "divider":
		case "actions":
			// Slack: 1 to 25 elements; a button's text is plain_text of at
			// most 75 characters, its action_id at most 255.
			if len(b.Elements) == 0 || len(b.Elements) > 25 {
				bad(i, "must provide between 1 and 25 elements")
			}
			for _, raw := range b.Elements {
				var btn struct {
					Type     string     `json:"type"`
					Text     textObject `json:"text"`
					ActionID string     `json:"action_id"`
					Style    string     `json:"style"`
				}
				if json.Unmarshal(raw, &btn) != nil || btn.Type != "button" || btn.Text.Type != "plain_text" ||
					runeLen(btn.Text.Text) == 0 || runeLen(btn.Text.Text) > 75 || len(btn.ActionID) > 255 ||
					(btn.Style != "" && btn.Style != "primary" && btn.Style != "danger") {
					bad(i, "invalid button")
				}
			}
		default:
			bad(i, "unsupported block type %q", b.Type)
		}
	}
	if len(errs) > 0 {
		return "invalid_blocks", errs
	}
	if total > BlocksTextLimit(all.String()) {
		return "msg_blocks_too_long", nil
	}
	return "", nil
}

// checkMessage is CheckMessage with the server's optional fixed limit.
func (s *Server) checkMessage(text string, blocks json.RawMessage) (string, []string) {
	code, details := CheckMessage(text, blocks)
	s.mu.Lock()
	limit := s.blocksLimit
	s.mu.Unlock()
	if code == "" && limit > 0 && blocksTextLen(blocks) > limit {
		return "msg_blocks_too_long", nil
	}
	return code, details
}

func blocksTextLen(blocks json.RawMessage) int {
	var bs []struct {
		Text     *textObject       `json:"text"`
		Fields   []textObject      `json:"fields"`
		Elements []json.RawMessage `json:"elements"`
	}
	_ = json.Unmarshal(blocks, &bs)
	n := 0
	for _, b := range bs {
		if b.Text != nil {
			n += runeLen(b.Text.Text)
		}
		for _, f := range b.Fields {
			n += runeLen(f.Text)
		}
		for _, raw := range b.Elements {
			var t textObject
			if json.Unmarshal(raw, &t) == nil {
				n += runeLen(t.Text)
			}
		}
	}
	return n
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func runeLen(s string) int { return len([]rune(s)) }
