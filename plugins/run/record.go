package run

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/store"
)

// A stored run is plain data; these translate it to and from the bot's
// and GitLab's types.

func setConversation(r *store.Run, c bot.Conversation) {
	r.ChannelID, r.ThreadID, r.Direct, r.Handle = c.ChannelID, c.ThreadID, c.Direct, c.Handle
}

func conversation(r *store.Run) bot.Conversation {
	return bot.Conversation{ChannelID: r.ChannelID, ThreadID: r.ThreadID, Direct: r.Direct, Handle: r.Handle}
}

// setReply records the posted progress reply, and where it went: the
// adapter may have answered somewhere else than the command (an
// interaction's own reply).
func setReply(r *store.Run, s bot.Sent) {
	if s.Conversation != (bot.Conversation{}) {
		setConversation(r, s.Conversation)
	}
	r.ReplyID = s.ID
}

func replyRef(r *store.Run) bot.Sent { return bot.Sent{Conversation: conversation(r), ID: r.ReplyID} }

// plan rebuilds what GitLab needs to create a resumed run's pipeline.
func plan(r *store.Run) gitlab.Plan {
	return gitlab.Plan{Job: r.Job, Args: r.Args, ChannelID: r.ChannelID, UserID: r.UserID, User: r.GitLabUser,
		ProjectID: r.ProjectID, ProjectURL: projectURL(r), Ref: r.Ref}
}

func projectURL(r *store.Run) string {
	if i := strings.Index(r.PipelineURL, "/-/pipelines/"); i > 0 {
		return r.PipelineURL[:i]
	}
	return r.Project
}

func setState(r *store.Run, st gitlab.State) {
	// A state that names the run's pipeline or job again without its URL
	// (GitLab's play answer carries no pipeline URL) keeps the known one.
	if st.PipelineID != 0 {
		if st.PipelineID != r.PipelineID || st.PipelineURL != "" {
			r.PipelineURL = st.PipelineURL
		}
		r.PipelineID = st.PipelineID
	}
	if st.JobID != 0 {
		if st.JobID != r.JobID || st.JobURL != "" {
			r.JobURL = st.JobURL
		}
		r.JobID = st.JobID
	}
	if st.Status != "" {
		r.Status = st.Status
	}
	r.Notes = append(r.Notes, st.Notes...)
}

// outcome is what the run's replies show.
func outcome(r *store.Run) gitlab.Outcome {
	return gitlab.Outcome{Job: r.Job, Ref: r.Ref, RunID: shortID(r.ID), User: r.GitLabUser, PipelineID: r.PipelineID, PipelineURL: r.PipelineURL,
		JobURL: r.JobURL, Status: r.Status, Notes: r.Notes, Timeout: waited(r)}
}

// waited is how long the run is followed, as configured when it started.
func waited(r *store.Run) time.Duration {
	d := r.Deadline.Sub(r.CreatedAt)
	if d < 10*time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

// setAnswer stores the final reply: from now on only delivering it is left.
func setAnswer(r *store.Run, reply bot.Reply) {
	r.Answer, _ = json.Marshal(reply) // a Reply is plain data: it always encodes
	r.Phase = store.PhaseAnswering
	r.Attempts, r.NextAttempt = 0, time.Time{}
}

func answer(r *store.Run) (bot.Reply, error) {
	var reply bot.Reply
	err := json.Unmarshal(r.Answer, &reply)
	return reply, err
}
