package gitlab_test

import (
	"testing"

	"github.com/chatops-dev/chatops/gitlab"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

func TestInGroup(t *testing.T) {
	srv := gitlabtest.New(gitlabtest.Options{})
	defer srv.Close()
	srv.AddUser("ops", gitlabtest.Developer)
	srv.AddUser("dev", gitlabtest.Developer)
	srv.AddGroupMember("platform", "ops", gitlabtest.Developer)
	srv.AddGroupMember("platform/web", "dev", gitlabtest.Developer)
	svc, err := gitlab.New(gitlab.Config{URL: srv.URL(), Token: srv.Token, Project: srv.ProjectPath})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, group string
		want        bool
	}{
		{"ops", "platform", true},
		{"ops", "platform/web", true}, // inherited from the parent group
		{"dev", "platform", false},
		{"dev", "platform/web", true},
		{"dev", "nowhere", false},
		{"ghost", "platform", false},
	} {
		got, err := svc.InGroup(t.Context(), tc.user, tc.group)
		if err != nil || got != tc.want {
			t.Errorf("InGroup(%s, %s) = %v, %v; want %v", tc.user, tc.group, got, err, tc.want)
		}
	}
}
