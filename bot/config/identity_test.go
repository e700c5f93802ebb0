package config

import (
	"strings"
	"testing"
)

func TestLinkingNeedsAKey(t *testing.T) {
	const base = "[shell]\n[gitlab]\nurl = \"https://gitlab.example.com\"\ntoken = \"t\"\nproject = \"g/p\"\n"
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	tests := []struct {
		name, text string
		want       string // "" = loads
	}{
		{"linking off needs no key", base, ""},
		{"linking with a key", base + "oauth_client_id = \"app\"\n[store]\nsecret_key = \"" + key + "\"\n", ""},
		{"linking with a hex key", base + "oauth_client_id = \"app\"\n[store]\nsecret_key = \"" + strings.Repeat("ab", 32) + "\"\n", ""},
		{"linking without a key", base + "oauth_client_id = \"app\"\n", "[store] secret_key: is required when [gitlab] oauth_client_id is set"},
		{"linking with a short key", base + "oauth_client_id = \"app\"\n[store]\nsecret_key = \"c2hvcnQ=\"\n", "[store] secret_key: is not a usable key: the key is 5 bytes"},
		{"unknown act_as", base + "act_as = \"admin\"\n", `"admin" is not a mode chatops knows`},
		{"act_as user without linking", base + "act_as = \"user\"\n", `"user" needs self-service linking`},
		{"act_as sudo", base + "act_as = \"sudo\"\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.text, env(nil))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Parse = %v, want an error with %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "c2hvcnQ") {
				t.Errorf("the error quotes the key: %v", err)
			}
		})
	}
}
