package gitlab

import (
	"fmt"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/gitlab/joblog"
)

// outcome is everything a run's replies show.
type outcome struct {
	Job         string
	User        string
	PipelineID  int64
	PipelineURL string
	JobURL      string
	Status      string // GitLab job status, or "timeout"
	Duration    time.Duration
	Log         joblog.Result
	Notes       []string
	Timeout     time.Duration
}

func (o outcome) fields() []bot.Field {
	f := []bot.Field{{Name: "Job", Value: o.Job}, {Name: "Pipeline", Value: fmt.Sprintf("#%d", o.PipelineID)}}
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

func (o outcome) links() []bot.Link {
	l := []bot.Link{{Label: fmt.Sprintf("Pipeline #%d", o.PipelineID), URL: o.PipelineURL}}
	if o.JobURL != "" {
		l = append(l, bot.Link{Label: "Job log", URL: o.JobURL})
	}
	return l
}

// renderProgress is the reply while the job has not finished.
func renderProgress(o outcome) bot.Reply {
	title := map[string]string{
		"created": o.Job + ": pipeline created", "pending": o.Job + " is waiting for a runner",
		"running": o.Job + " is running", "manual": o.Job + " is waiting to be played",
	}[o.Status]
	if title == "" {
		title = o.Job + ": " + o.Status
	}
	return bot.Reply{Status: bot.StatusWorking, Title: title, Text: strings.Join(o.Notes, "\n"), Fields: o.fields(), Links: o.links()}
}

// renderResult is the final reply.
func renderResult(o outcome) bot.Reply {
	r := bot.Reply{Fields: o.fields(), Links: o.links()}
	notes := o.Notes
	switch o.Status {
	case "success":
		r.Status, r.Title = bot.StatusSuccess, o.Job+" succeeded"
		out := strings.TrimRight(joblog.Clean(o.Log.Output), "\n")
		switch {
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

func sizeOf(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func jobDuration(j *gl.Job) time.Duration {
	if j == nil {
		return 0
	}
	return time.Duration(j.Duration * float64(time.Second))
}
