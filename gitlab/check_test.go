package gitlab_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

func TestCheck(t *testing.T) {
	fake := gitlabtest.New(gitlabtest.Options{CIConfig: gitlabtest.DemoCIConfig()})
	defer fake.Close()
	tests := []struct {
		name          string
		url, token    string
		project       string
		wantErr       []string // in the error text
		wantPermanent bool
	}{
		{name: "good", url: fake.URL(), token: fake.Token, project: fake.ProjectPath},
		{name: "bad token", url: fake.URL(), token: "glpat-wrong", project: fake.ProjectPath,
			wantErr: []string{"rejected the token (401)", "api scope"}, wantPermanent: true},
		{name: "not the base URL", url: fake.URL() + "/gitlab", token: fake.Token, project: fake.ProjectPath,
			wantErr: []string{"404", "without /api/v4"}, wantPermanent: true},
		{name: "unknown project", url: fake.URL(), token: fake.Token, project: "no/such",
			wantErr: []string{"[gitlab] project no/such", "404"}, wantPermanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := gitlab.New(gitlab.Config{URL: tt.url, Token: tt.token, Project: tt.project,
				RetryBackoff: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := svc.Check(context.Background())
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if rep.User != gitlabtest.BotUser || rep.DefaultBranch != "main" || rep.ChatJobs == 0 {
					t.Fatalf("report %+v", rep)
				}
				return
			}
			var ce *gitlab.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *CheckError", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if ce.Permanent != tt.wantPermanent {
				t.Errorf("permanent = %v", ce.Permanent)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("the token appears in %q", err)
			}
		})
	}
}

func TestWebPagesNeedNoToken(t *testing.T) {
	demo, err := gitlabtest.NewDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer demo.Close()
	resp, err := http.Get(demo.URL + "/" + demo.Project + "/-/jobs/999")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown job page: %d", resp.StatusCode)
	}
}
