package projects

import (
	"errors"
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot"
)

func TestNewRefusesAmbiguity(t *testing.T) {
	tests := []struct {
		name string
		list []Project[int]
		want string
	}{
		{"two names", []Project[int]{{Alias: "api", Path: "a/api"}, {Alias: "API", Path: "b/api"}}, `are both named "api"`},
		{"channel bound twice", []Project[int]{{Path: "a", Channels: []string{"s:C"}}, {Path: "b", Channels: []string{"s:C"}}}, "bound to both a and b"},
		{"two defaults", []Project[int]{{Path: "a", Default: true}, {Path: "b", Default: true}}, "both a and b are the default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.list); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	s, err := New([]Project[int]{{Path: "ops/main", GitLab: 1, Default: true}, {Alias: "api", Path: "group/api", GitLab: 2, Channels: []string{"slack:C-api"}}})
	if err != nil {
		t.Fatal(err)
	}
	msg := func(channel string) bot.Message {
		return bot.Message{Platform: "slack", Conversation: bot.Conversation{ChannelID: channel}}
	}
	tests := []struct {
		name, channel, in string
		want              int
		refusal           string
	}{
		{"default", "C1", "", 1, ""},
		{"bound channel", "C-api", "", 2, ""},
		{"named by alias", "C1", "API", 2, ""},
		{"named by path", "C-api", "ops/main", 1, ""},
		{"unknown name", "C1", "nope", 0, "Unknown project nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.Resolve(msg(tt.channel), tt.in, "issue show 1")
			var ref *bot.Refusal
			switch {
			case tt.refusal != "":
				if !errors.As(err, &ref) || ref.Title != tt.refusal || !strings.Contains(ref.Text, "api (group/api), ops/main") {
					t.Fatalf("err %v, want the refusal %q listing the projects", err, tt.refusal)
				}
			case err != nil || p.GitLab != tt.want:
				t.Fatalf("got %v, %v; want client %d", p, err, tt.want)
			}
		})
	}
	none, _ := New([]Project[int]{{Alias: "api", Path: "group/api"}})
	_, err = none.ForConversation(msg("C1"), "issue show 1")
	var ref *bot.Refusal
	if !errors.As(err, &ref) || !strings.Contains(ref.Text, "for example: api issue show 1") {
		t.Fatalf("no default: %v", err)
	}
	list := []Project[int]{*s.List()[0]}
	mapped := Map(list, func(n int) string { return strings.Repeat("x", n) })
	if len(mapped) != 1 || mapped[0].GitLab != "x" || !mapped[0].Default {
		t.Fatalf("Map: %+v", mapped)
	}
}
