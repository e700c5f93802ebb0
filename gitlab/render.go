package gitlab

import (
	"fmt"
	"strings"
	"time"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab/joblog"
)

// Outcome is everything a run's replies show. The run plugin fills it
// from its stored run; Progress and Result render it.
type Outcome struct {
	// Job is the job's name.
	Job string
	// Ref is the branch or tag the pipeline runs on (the default branch
	// when none was asked for), shown with the job: "deploy@main".
	Ref string
	// RunID is the short id chat commands name the run by (cancel,
	// retry).
	RunID string
	// User is the GitLab username the run acts as.
	User        string
	PipelineID  int64
	PipelineURL string
	JobURL      string
	// Status is the job's GitLab status, or "timeout" when the bot stopped
	// waiting.
	Status   string
	Duration time.Duration
	// Log is the job's reply (finished jobs only): what was extracted
	// from its log, or its reply file (see FetchReply).
	Log joblog.Result
	// Notes are remarks shown under the title.
	Notes []string
	// Timeout is how long the bot waited, for the "still running" reply.
	Timeout time.Duration
}

func (o Outcome) fields() []bot.Field {
	job := o.Job
	if o.Ref != "" {
		job += "@" + o.Ref
	}
	f := []bot.Field{{Name: "Job", Value: job}}
	if o.RunID != "" {
		f = append(f, bot.Field{Name: "Run", Value: o.RunID})
	}
	if o.PipelineID != 0 {
		f = append(f, bot.Field{Name: "Pipeline", Value: fmt.Sprintf("#%d", o.PipelineID)})
	}
	if o.Duration > 0 {
		// Chat jobs are often quick: "0s" would say nothing.
		d := o.Duration.Round(time.Second)
		if o.Duration < 10*time.Second {
			d = o.Duration.Round(100 * time.Millisecond)
		}
		f = append(f, bot.Field{Name: "Duration", Value: d.String()})
	}
	if o.User != "" {
		f = append(f, bot.Field{Name: "As", Value: o.User})
	}
	return f
}

func (o Outcome) links() []bot.Link {
	var l []bot.Link
	if o.PipelineID != 0 {
		l = append(l, bot.Link{Label: fmt.Sprintf("Pipeline #%d", o.PipelineID), URL: o.PipelineURL})
	}
	if o.JobURL != "" {
		l = append(l, bot.Link{Label: "Job log", URL: o.JobURL})
	}
	return l
}

// Progress is the reply while the job has not finished.
func Progress(o Outcome) bot.Reply {
	title := map[string]string{
		"": o.Job + ": starting a pipeline", "created": o.Job + ": pipeline created", "pending": o.Job + " is waiting for a runner",
		"running": o.Job + " is running", "manual": o.Job + " is waiting to be played",
	}[o.Status]
	if title == "" {
		title = o.Job + ": " + o.Status
	}
	return bot.Reply{Status: bot.StatusWorking, Title: title, Text: strings.Join(o.Notes, "\n"), Fields: o.fields(), Links: o.links()}
}

// Result is the final reply.
func Result(o Outcome) bot.Reply {
	r := bot.Reply{Fields: o.fields(), Links: o.links()}
	notes := o.Notes
	switch o.Status {
	case "success":
		r.Status, r.Title = bot.StatusSuccess, o.Job+" succeeded"
		out := strings.TrimRight(joblog.Clean(o.Log.Output), "\n")
		if o.Log.SkippedFile != "" {
			notes = append(notes, "The job's "+o.Log.SkippedFile+" is not text, so its output is shown instead.")
		}
		switch {
		case o.Log.File != "":
			if strings.TrimSpace(out) == "" {
				notes = append(notes, "The job's "+o.Log.File+" is empty.")
				break
			}
			cut := ""
			if o.Log.CutBytes > 0 {
				end := "first"
				if o.Log.CutEnd {
					end = "last"
				}
				cut = fmt.Sprintf("the %s %s of %s are cut; the job's artifacts have all of it", end, sizeOf(o.Log.CutBytes), o.Log.File)
			}
			if IsMarkdown(o.Log.File) {
				// Written for chat: shown formatted. The adapters keep it
				// from mentioning anyone or breaking the message.
				r.Markdown = out
				if cut != "" {
					notes = append(notes, strings.ToUpper(cut[:1])+cut[1:]+".")
				}
				break
			}
			r.Code, r.CodeNote = out, cut
		case o.Log.Section == "":
			notes = append(notes, "The log has no chat_reply or step_script section to show; see the job log.")
		case strings.TrimSpace(out) == "":
			notes = append(notes, "The job printed nothing.")
		default:
			r.Code = out
			if o.Log.CutBytes > 0 {
				r.CodeNote = fmt.Sprintf("the first %s of the output are cut; the job log has all of it", sizeOf(o.Log.CutBytes))
			}
		}
	case "failed":
		r.Status, r.Title = bot.StatusFailure, o.Job+" failed"
		if tail := strings.TrimRight(joblog.Clean(o.Log.Tail), "\n"); tail != "" {
			r.Code, r.CodeNote = tail, "last lines of the job log"
		}
	case "canceled", "skipped":
		r.Status, r.Title = bot.StatusCanceled, o.Job+" was "+o.Status
	case "timeout":
		r.Status, r.Title = bot.StatusTimedOut, o.Job+" is still running"
		notes = append(notes, fmt.Sprintf("chatops stopped waiting after %s; the job goes on in GitLab. Follow it there.", o.Timeout))
	default:
		r.Status, r.Title = bot.StatusError, fmt.Sprintf("%s ended as %s", o.Job, o.Status)
	}
	r.Text = strings.Join(notes, "\n")
	return r
}

// Refused is the final reply of a run that could not go on: the refusal,
// with the run's facts and links (a pipeline may exist).
func Refused(o Outcome, r *bot.Refusal) bot.Reply {
	reply := r.Reply()
	reply.Fields, reply.Links = o.fields(), o.links()
	return reply
}

func sizeOf(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
