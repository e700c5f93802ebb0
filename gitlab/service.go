// Package gitlab is the GitLab side of a run, shared by every chat adapter
// through the run plugin: it checks the chat user's access, finds a job in
// the default branch's CI configuration, creates a pipeline that runs only
// that job with GitLab ChatOps' CHAT_* variables, tells what changed for
// many runs at once (batched polls, webhook events), extracts the reply
// from a job log and renders progress and outcomes as bot.Reply. It never
// talks to a chat: the run plugin converses.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/chatops-dev/chatops/bot"
)

// Config configures the service. Zero durations pick the defaults.
type Config struct {
	// URL is the GitLab base URL, e.g. https://gitlab.example.com.
	URL string
	// Token is a token with the api scope for a user who may create
	// pipelines on the default branch.
	Token string
	// Project is the numeric id or "group/project" path.
	Project string
	// MinRole is the least project role a chat user needs: "developer"
	// (default, GitLab's rule), "maintainer" or "owner".
	MinRole string
	// PlayManual plays a manual job after creating its pipeline.
	PlayManual bool
	// Refs are the patterns (path.Match globs such as "v*") of the refs
	// other than the default branch that jobs may run on. Empty: the
	// default branch only, as GitLab's ChatOps.
	Refs []string
	// Identities maps "platform:userID" to a GitLab username.
	Identities map[string]string
	// ActAs decides what a chat user without a linked GitLab account may
	// do: ActAsBot (default), ActAsUser or ActAsSudo (see actor.go).
	ActAs string
	// Linking says self-service linking (`link`) is on, so refusals of
	// unlinked users point to it.
	Linking bool
	// Logger receives the service's logs (default slog.Default()).
	Logger *slog.Logger
	// HTTPClient is used for every request (optional).
	HTTPClient *http.Client

	// ExtractWait bounds how long a finished job's log is re-read while
	// its sections are incomplete (default 5m, as GitLab).
	ExtractWait time.Duration
	// ExtractInterval is the first wait between those re-reads (default
	// 2s); it doubles after each read, up to 30s, and re-reading stops as
	// soon as the log stopped growing: a log GitLab cut at its size limit
	// never completes, and is not downloaded again and again.
	ExtractInterval time.Duration
	// RequestTimeout bounds one API call, retries included, and how long
	// GitLab may take to start answering (default 30s): a GitLab that
	// accepts connections and never answers cannot hold a run past its
	// deadline. Streaming a job log is bounded by ExtractWait instead.
	RequestTimeout time.Duration
	// MaxRetryWait caps a Retry-After GitLab sends with a 429 or 503
	// (default 10s).
	MaxRetryWait time.Duration
	// RetryBackoff is the first wait between retries of idempotent
	// requests after 5xx, 429 or network errors (default 1s).
	RetryBackoff time.Duration
	// MaxReplyBytes bounds the output kept for a reply (default 64 KiB).
	MaxReplyBytes int
	// ReplyFile is the file a successful job may keep as an artifact to
	// give its reply instead of its log's sections, a path inside the
	// artifacts archive such as DefaultReplyFile; "" turns reply files
	// off (see FetchReply).
	ReplyFile string
}

// Service talks to one GitLab project.
type Service struct {
	cfg    Config
	client *gl.Client
	log    *slog.Logger
	minLvl gl.AccessLevelValue

	mu     sync.Mutex
	ciByID map[string]*ciConfig // by commit sha: an unchanged branch costs no lint call
	// skew is GitLab's clock minus the bot's, from responses' Date.
	skew atomic.Int64
}

// New validates cfg and returns a service; it makes no request.
func New(cfg Config) (*Service, error) {
	if cfg.URL == "" || cfg.Token == "" || cfg.Project == "" {
		return nil, errors.New("gitlab: url, token and project are required")
	}
	if cfg.ExtractWait <= 0 {
		cfg.ExtractWait = 5 * time.Minute
	}
	if cfg.ExtractInterval <= 0 {
		cfg.ExtractInterval = 2 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = 10 * time.Second
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = time.Second
	}
	if cfg.MaxReplyBytes <= 0 {
		cfg.MaxReplyBytes = 64 << 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ReplyFile != "" {
		f, err := cleanReplyFile(cfg.ReplyFile)
		if err != nil {
			return nil, fmt.Errorf("gitlab: reply_file: %w", err)
		}
		cfg.ReplyFile = f
	}
	// A malformed pattern never matches (path.Match only reports
	// ErrBadPattern), which would refuse the operator's refs to everyone
	// without a word: refuse the configuration instead.
	for _, pat := range cfg.Refs {
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("gitlab: refs pattern %q: %w", pat, err)
		}
	}
	switch cfg.ActAs = strings.ToLower(cfg.ActAs); cfg.ActAs {
	case "":
		cfg.ActAs = ActAsBot
	case ActAsBot, ActAsUser, ActAsSudo:
	default:
		return nil, fmt.Errorf("gitlab: act_as must be bot, user or sudo, not %q", cfg.ActAs)
	}
	levels := map[string]gl.AccessLevelValue{"": gl.DeveloperPermissions, "developer": gl.DeveloperPermissions,
		"maintainer": gl.MaintainerPermissions, "owner": gl.OwnerPermissions}
	lvl, ok := levels[strings.ToLower(cfg.MinRole)]
	if !ok {
		return nil, fmt.Errorf("gitlab: min_role must be developer, maintainer or owner, not %q", cfg.MinRole)
	}
	backoff, maxWait := cfg.RetryBackoff, cfg.MaxRetryWait
	s := &Service{cfg: cfg, log: cfg.Logger, minLvl: lvl, ciByID: map[string]*ciConfig{}}
	opts := []gl.ClientOptionFunc{
		gl.WithBaseURL(cfg.URL),
		gl.WithCustomRetryMax(4),
		// Exponential backoff that honours Retry-After on 429/503, capped:
		// a GitLab asking for minutes must not hold a run past its deadline.
		gl.WithCustomBackoff(func(_, _ time.Duration, attempt int, resp *http.Response) time.Duration {
			return min(retryablehttp.DefaultBackoff(backoff, maxWait, attempt, resp), maxWait)
		}),
		gl.WithHTTPClient(s.httpClient(cfg.HTTPClient)),
	}
	client, err := gl.NewClient(cfg.Token, opts...)
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	s.client = client
	return s, nil
}

// project is what a run needs to know about the project, at the ref the
// run is for.
type project struct {
	ID            int64
	WebURL        string
	DefaultBranch string
	// Ref is the branch or tag the run is on, SHA its HEAD.
	Ref string
	SHA string
}

// lookupProject reads the project, its default branch and that branch's
// HEAD: every run works on the default branch as it is now.
func (s *Service) lookupProject(ctx context.Context) (*project, error) {
	p, _, err := s.client.Projects.GetProject(s.cfg.Project, nil, gl.WithContext(ctx))
	if err != nil {
		return nil, s.apiRefusal("read the project "+s.cfg.Project, err)
	}
	if p.DefaultBranch == "" {
		return nil, &bot.Refusal{Title: "The project has no default branch", Text: "Push a commit with a .gitlab-ci.yml to " + p.WebURL + " first."}
	}
	b, _, err := s.client.Branches.GetBranch(p.ID, p.DefaultBranch, gl.WithContext(ctx))
	if err != nil {
		return nil, s.apiRefusal("read the default branch "+p.DefaultBranch, err)
	}
	return &project{ID: p.ID, WebURL: p.WebURL, DefaultBranch: p.DefaultBranch, Ref: p.DefaultBranch, SHA: b.Commit.ID}, nil
}

// atRef moves p to another ref, if the project's refs patterns allow it:
// the job is then looked up in that ref's CI configuration.
func (s *Service) atRef(ctx context.Context, p *project, ref string) error {
	if ref == "" || ref == p.DefaultBranch {
		return nil
	}
	allowed := false
	for _, pat := range s.cfg.Refs {
		if ok, _ := path.Match(pat, ref); ok { // patterns are checked by New
			allowed = true
			break
		}
	}
	if !allowed {
		return &bot.Refusal{Title: "Ref " + ref + " is not allowed in " + s.cfg.Project,
			Text: "Jobs run from chat on " + s.allowedRefs(p) + ". An operator can allow more with refs = [\"v*\", ...] for the project."}
	}
	c, _, err := s.client.Commits.GetCommit(p.ID, ref, nil, gl.WithContext(ctx))
	if statusOf(err) == http.StatusNotFound {
		return &bot.Refusal{Title: "Ref " + ref + " not found in " + s.cfg.Project,
			Text: "There is no branch or tag " + ref + ". Allowed refs: " + s.allowedRefs(p) + "."}
	}
	if err != nil {
		return s.apiRefusal("read the ref "+ref, err)
	}
	p.Ref, p.SHA = ref, c.ID
	return nil
}

// allowedRefs describes where jobs may run, for refusals.
func (s *Service) allowedRefs(p *project) string {
	out := "the default branch " + p.DefaultBranch
	for _, pat := range s.cfg.Refs {
		out += ", " + pat
	}
	return out
}
