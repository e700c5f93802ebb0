package adaptertest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/chatops-dev/chatops/bot"
)

// ChatReplyMD is the repository's sample reply file
// (testdata/chat_reply.md): headings of four levels, emphasis, code, a
// task list with a nested list, a table, a quote, a fenced block, links,
// an image, a rule and every kind of mention a job must not send.
func ChatReplyMD() string {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "chat_reply.md"))
	if err != nil {
		panic("adaptertest: " + err.Error())
	}
	return string(b)
}

// MarkdownReply is the final reply of a job that answered with
// ChatReplyMD, as gitlab.Result makes it.
func MarkdownReply() bot.Reply {
	return bot.Reply{Status: bot.StatusSuccess, Title: "deploy succeeded",
		Fields:   []bot.Field{{Name: "Job", Value: "deploy"}, {Name: "Run", Value: "3f9a1c"}, {Name: "Pipeline", Value: "#12"}},
		Markdown: ChatReplyMD(),
		Links: []bot.Link{{Label: "Pipeline #12", URL: "https://gitlab.example.com/ops/app/-/pipelines/12"},
			{Label: "Job log", URL: "https://gitlab.example.com/ops/app/-/jobs/34"}}}
}

// FirstSection starts BigMarkdownReply's Markdown: a reply that keeps its
// start shows it.
const FirstSection = "## Section 1"

// BigMarkdownReply is a reply whose Markdown (sections of prose, a list
// and a code block, 60 KB in all) is far over every platform's limit.
func BigMarkdownReply() bot.Reply {
	var b strings.Builder
	for i := 1; b.Len() < 60000; i++ {
		fmt.Fprintf(&b, "## Section %d\n\nSome *prose* about @channel, `code` and [a link](https://x.example/%d).\n\n- one\n- two\n\n```\n", i, i)
		for j := range 20 {
			fmt.Fprintf(&b, "output line %d of section %d\n", j, i)
		}
		b.WriteString("```\n\n")
	}
	r := MarkdownReply()
	r.Markdown = b.String()
	return r
}
