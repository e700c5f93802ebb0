package bot

import "testing"

func TestPlainShowsMarkdownAsWrittenAfterFields(t *testing.T) {
	r := Reply{Status: StatusSuccess, Title: "report succeeded", Fields: []Field{{Name: "Job", Value: "report"}},
		Markdown: "# Deployed\n\n**v1.4.2** to @channel\n\n", Links: []Link{{Label: "Job log", URL: "https://x/j/1"}}}
	want := "✅ report succeeded\nJob: report\n\n# Deployed\n\n**v1.4.2** to @channel\n\nJob log: https://x/j/1"
	if got := r.Plain(); got != want {
		t.Errorf("Plain:\n%s\nwant:\n%s", got, want)
	}
}

func TestMarkdownAloneIsNotEmpty(t *testing.T) {
	if (Reply{Markdown: "x"}).IsZero() {
		t.Error("a reply with only Markdown is empty")
	}
}
