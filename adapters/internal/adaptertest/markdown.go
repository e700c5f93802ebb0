package adaptertest

import (
	"os"
	"path/filepath"
	"runtime"

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
