package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/gitlab/joblog"
)

// DefaultReplyFile is the reply file a job keeps as an artifact when the
// configuration names no other (see Config.ReplyFile).
const DefaultReplyFile = "chat_reply.md"

// FetchReply returns what a finished job answers with. A successful job
// that kept an artifacts archive (State.HasArtifacts, from Job) answers
// with its reply file (Config.ReplyFile) when the archive holds it, read
// within the bounds of a log's reply (joblog.File): its end, or its start
// for Markdown (IsMarkdown). Otherwise it answers
// with its log (FetchLog): when it kept no artifacts, which costs no
// request, when the archive lacks the file, when the file is not text,
// and when reading it failed, which is logged: a reply file never costs
// the job its answer.
func (s *Service) FetchReply(ctx context.Context, projectID int64, job State) (joblog.Result, error) {
	succeeded := job.Status == "success"
	var skipped string
	if succeeded && job.HasArtifacts && s.cfg.ReplyFile != "" {
		f, err := s.fetchReplyFile(ctx, projectID, job.JobID)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return joblog.Result{}, ctx.Err()
			}
			s.log.Warn("could not read the job's reply file; answering with its log", "job", job.JobID, "file", s.cfg.ReplyFile, "err", err)
		case f == nil: // the archive has no such file: the job answers as usual
		case f.Binary():
			s.log.Warn("the job's reply file is not text; answering with its log", "job", job.JobID, "file", s.cfg.ReplyFile)
			skipped = s.cfg.ReplyFile
		default:
			return f.Result(), nil
		}
	}
	r, err := s.FetchLog(ctx, projectID, job.JobID, succeeded)
	r.SkippedFile = skipped
	return r, err
}

// fetchReplyFile streams the reply file out of the job's artifacts
// archive (GET /projects/:id/jobs/:job_id/artifacts/*artifact_path), so
// memory is bounded by MaxReplyBytes however large the file. A nil File
// and no error: GitLab answered 404 (the archive lacks the file, or has
// expired since the job was read).
func (s *Service) fetchReplyFile(ctx context.Context, projectID, jobID int64) (*joblog.File, error) {
	ctx, cancel := s.bound(ctx, 2)
	defer cancel()
	segs := strings.Split(s.cfg.ReplyFile, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	req, err := s.client.NewRequest(http.MethodGet, fmt.Sprintf("projects/%d/jobs/%d/artifacts/%s", projectID, jobID, strings.Join(segs, "/")),
		nil, []gl.RequestOptionFunc{gl.WithContext(ctx)})
	if err != nil {
		return nil, err
	}
	f := joblog.NewFile(s.cfg.ReplyFile, s.cfg.MaxReplyBytes)
	if IsMarkdown(s.cfg.ReplyFile) {
		// A document is read from its top; a log from its end.
		f = joblog.NewFileHead(s.cfg.ReplyFile, s.cfg.MaxReplyBytes)
	}
	_, err = s.client.Do(req, f)
	switch {
	case statusOf(err) == http.StatusNotFound:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the reply file %s of job %d: %w", s.cfg.ReplyFile, jobID, err)
	}
	return f, nil
}

// IsMarkdown reports a reply file whose name ends in .md (in any case):
// its content is Markdown, shown formatted (bot.Reply.Markdown) and
// read from its top. Other reply files are shown as the log's output is.
func IsMarkdown(name string) bool { return strings.EqualFold(path.Ext(name), ".md") }

// cleanReplyFile checks a reply file's name: a path inside the artifacts
// archive, which holds paths relative to the job's directory. It returns
// the path cleaned ("./chat_reply.md" is "chat_reply.md").
func cleanReplyFile(name string) (string, error) {
	if strings.ContainsRune(name, 0) || !utf8.ValidString(name) {
		return "", errors.New("a file name must be UTF-8 without NUL bytes")
	}
	p := path.Clean(name)
	switch {
	case path.IsAbs(p):
		return "", fmt.Errorf("%q must be relative to the job's directory, as in artifacts: paths", name)
	case p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.HasSuffix(name, "/"):
		return "", fmt.Errorf("%q must name a file inside the job's directory", name)
	}
	return p, nil
}
