package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot"
)

func TestCheck(t *testing.T) {
	groups := map[string]bool{"platform/ops": true}
	dev := Caller{Channel: "slack:C1", Username: "dev", Level: 30, InGroup: func(g string) (bool, error) { return false, nil }}
	ops := Caller{Channel: "slack:C1", Username: "ops", Level: 40, InGroup: func(g string) (bool, error) { return groups[g], nil }}
	tests := []struct {
		name   string
		rule   Rule
		caller Caller
		refuse string // a phrase of the refusal, "" for allowed
	}{
		{"no rule", Rule{}, dev, ""},
		{"developer enough", Rule{MinRole: "developer"}, dev, ""},
		{"maintainer refuses developer", Rule{MinRole: "maintainer"}, dev, "min_role rule needs the Maintainer role; GitLab user dev has Developer"},
		{"maintainer admits maintainer", Rule{MinRole: "Maintainer"}, ops, ""},
		{"owner refuses maintainer", Rule{MinRole: "owner"}, ops, "needs the Owner role"},
		{"bad role refuses", Rule{MinRole: "admin"}, ops, "invalid min_role"},
		{"non-member", Rule{MinRole: "developer"}, Caller{Username: "x"}, "has no role"},
		{"channel allowed", Rule{Channels: []string{"slack:C1"}}, dev, ""},
		{"channel refused", Rule{Channels: []string{"slack:C2", "discord:9"}}, dev, "channels rule allows it only in slack:C2, discord:9"},
		{"user listed", Rule{Users: []string{"dev"}}, dev, ""},
		{"user not listed", Rule{Users: []string{"alice"}}, dev, "users rule"},
		{"group member", Rule{Groups: []string{"a", "platform/ops"}}, ops, ""},
		{"not a group member", Rule{Groups: []string{"platform/ops"}}, dev, "groups rule needs membership of platform/ops"},
		{"listed user outside group", Rule{Users: []string{"dev"}, Groups: []string{"platform/ops"}}, dev, "groups rule"},
		{"channel judged first", Rule{MinRole: "owner", Channels: []string{"slack:C2"}}, dev, "channels rule"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check("deploy", tc.rule, tc.caller)
			if tc.refuse == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var r *bot.Refusal
			if !errors.As(err, &r) {
				t.Fatalf("got %v, want a refusal", err)
			}
			if !strings.Contains(r.Title+" "+r.Text, tc.refuse) {
				t.Errorf("refusal %q / %q does not say %q", r.Title, r.Text, tc.refuse)
			}
		})
	}
}

func TestCheckGroupError(t *testing.T) {
	boom := errors.New("gitlab down")
	c := Caller{Username: "u", InGroup: func(string) (bool, error) { return false, boom }}
	if err := Check("deploy", Rule{Groups: []string{"g"}}, c); !errors.Is(err, boom) {
		t.Errorf("got %v, want the lookup error", err)
	}
}

func TestSetFor(t *testing.T) {
	s := Set{
		Global:   map[string]Rule{"deploy": {MinRole: "maintainer"}, "hello": {Confirm: true}},
		Projects: map[string]map[string]Rule{"g/api": {"deploy": {Users: []string{"alice"}}}},
	}
	tests := []struct {
		project, job string
		want         Rule
	}{
		{"g/app", "deploy", Rule{MinRole: "maintainer"}},
		{"g/api", "deploy", Rule{Users: []string{"alice"}}},
		{"g/api", "hello", Rule{Confirm: true}},
		{"g/api", "other", Rule{}},
	}
	for _, tc := range tests {
		got := s.For(tc.project, tc.job)
		if got.MinRole != tc.want.MinRole || got.Confirm != tc.want.Confirm || len(got.Users) != len(tc.want.Users) {
			t.Errorf("For(%s, %s) = %+v, want %+v", tc.project, tc.job, got, tc.want)
		}
	}
	if (Rule{Channels: []string{"x"}}).NeedsUser() || !(Rule{Groups: []string{"g"}}).NeedsUser() {
		t.Error("NeedsUser wrong")
	}
}
