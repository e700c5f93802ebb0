package main

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/bot/config"
	"github.com/chatops-dev/chatops/plugins/identity"
	"github.com/chatops-dev/chatops/store/seal"
	"github.com/chatops-dev/chatops/store/sqlite"
)

// TestReservedNamesCoverEveryCommand: a project alias that is also a
// command's name must be refused by the configuration check (with its
// line and a fix), not by the router at start with a bare error. So
// every command the process serves (the demo's, and link's, which needs
// OAuth) is a reserved name.
func TestReservedNamesCoverEveryCommand(t *testing.T) {
	a, err := setup(context.Background(), options{}, strings.NewReader(""), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	names := slices.Clone(a.commands)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chatops.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sealer, err := seal.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	idp, err := identity.New(identity.Options{GitLabURL: "https://gitlab.example.com", ClientID: "x", Store: st, Sealer: sealer, Logger: bottest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range idp.Commands() {
		names = append(names, c.Name)
	}
	if len(names) < 10 {
		t.Fatalf("only %v served: the demo should serve run, issue, deploy and more", names)
	}
	for _, n := range names {
		if strings.Contains(n, "/") {
			continue // a project's path, the project's own command
		}
		if !slices.Contains(config.ReservedNames, n) {
			t.Errorf("command %q is not in config.ReservedNames: a project alias %q would pass the check and stop the bot at start", n, n)
		}
	}
}
