package gitlab

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/chatops-dev/chatops/bot"
)

// Bounds of an issue's description in a card: chat shows the start, the
// link opens the rest.
const (
	maxDescriptionRunes = 600
	maxDescriptionLines = 12
)

// IssueCard renders an issue: its number and title (linked), state,
// labels, assignees and the start of its description. headline, when set,
// says what was just done ("Issue closed") and makes the card a success.
func IssueCard(is Issue, headline string) bot.Reply {
	r := bot.Reply{Status: bot.StatusInfo, Title: fmt.Sprintf("#%d %s", is.IID, is.Title)}
	if headline != "" {
		r.Status, r.Title = bot.StatusSuccess, headline+": "+r.Title
	}
	r.Fields = []bot.Field{{Name: "State", Value: stateName(is.State)}}
	if is.Confidential {
		r.Fields[0].Value += ", confidential"
	}
	if len(is.Labels) > 0 {
		r.Fields = append(r.Fields, bot.Field{Name: "Labels", Value: strings.Join(is.Labels, ", ")})
	}
	assignees := "nobody"
	if len(is.Assignees) > 0 {
		assignees = "@" + strings.Join(is.Assignees, ", @")
	}
	r.Fields = append(r.Fields, bot.Field{Name: "Assignees", Value: assignees})
	if is.Author != "" {
		r.Fields = append(r.Fields, bot.Field{Name: "Author", Value: "@" + is.Author})
	}
	if is.Comments > 0 {
		r.Fields = append(r.Fields, bot.Field{Name: "Comments", Value: fmt.Sprint(is.Comments)})
	}
	r.Text = TrimDescription(is.Description)
	r.Links = []bot.Link{{Label: fmt.Sprintf("#%d in %s", is.IID, is.Project), URL: is.WebURL}}
	return r
}

// IssueResults renders a search: one line per issue found (at most
// SearchLimit), and a link to the full search in GitLab.
func IssueResults(l IssueList) bot.Reply {
	r := bot.Reply{Status: bot.StatusInfo}
	switch {
	case len(l.Issues) == 0:
		r.Title = fmt.Sprintf("No issues in %s match %q", l.Project, l.Query)
		r.Text = "GitLab searches titles and descriptions, open and closed issues alike."
	case l.Total > len(l.Issues):
		r.Title = fmt.Sprintf("%d issues in %s match %q; the newest %d:", l.Total, l.Project, l.Query, len(l.Issues))
	case len(l.Issues) == 1:
		r.Title = fmt.Sprintf("1 issue in %s matches %q", l.Project, l.Query)
	default:
		r.Title = fmt.Sprintf("%d issues in %s match %q", len(l.Issues), l.Project, l.Query)
	}
	var b strings.Builder
	for _, is := range l.Issues {
		fmt.Fprintf(&b, "#%d %s — %s", is.IID, oneLine(is.Title), stateName(is.State))
		if len(is.Labels) > 0 {
			b.WriteString(" · " + strings.Join(is.Labels, ", "))
		}
		if len(is.Assignees) > 0 {
			b.WriteString(" · @" + strings.Join(is.Assignees, ", @"))
		}
		b.WriteString("\n")
		r.Links = append(r.Links, bot.Link{Label: fmt.Sprintf("#%d", is.IID), URL: is.WebURL})
	}
	if b.Len() > 0 {
		r.Text = strings.TrimRight(b.String(), "\n")
	}
	r.Links = append(r.Links, bot.Link{Label: "All results in GitLab", URL: l.SearchURL})
	return r
}

// TrimDescription keeps the start of an issue's description, at most
// maxDescriptionLines lines and maxDescriptionRunes characters, cut at a
// line (or word) boundary and marked when cut.
func TrimDescription(d string) string {
	d = strings.TrimSpace(strings.ReplaceAll(d, "\r\n", "\n"))
	cut := false
	if lines := strings.Split(d, "\n"); len(lines) > maxDescriptionLines {
		d, cut = strings.Join(lines[:maxDescriptionLines], "\n"), true
	}
	if utf8.RuneCountInString(d) > maxDescriptionRunes {
		d, cut = string([]rune(d)[:maxDescriptionRunes]), true
		if i := strings.LastIndexAny(d, "\n "); i > maxDescriptionRunes/2 {
			d = d[:i]
		}
	}
	d = strings.TrimRight(d, " \n")
	if cut {
		d += " …"
	}
	return d
}

func stateName(s string) string {
	switch s {
	case "opened":
		return "open"
	case "":
		return "unknown"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
