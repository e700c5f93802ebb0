package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/adapters/mattermost/mattermosttest"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

// BenchmarkBinaryRSS runs the real binary, alone in its process, with 300
// and 1000 runs of a 3-second job in flight at once (commands posted on
// the Mattermost fake, jobs sleeping in the GitLab fake, both in this
// process), and reports the bot's peak resident memory (VmHWM) and when
// the last answer came: the bot's own memory, apart from the fakes'.
//
//	go test -run '^$' -bench BinaryRSS -benchtime 1x .
func BenchmarkBinaryRSS(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc to read the bot's peak RSS")
	}
	for _, n := range []int{300, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				peak, last := rssRun(b, n)
				b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
				b.ReportMetric(last.Seconds(), "last-answer-s")
			}
		})
	}
}

func rssRun(b *testing.B, n int) (peakKiB int64, last time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	gl := gitlabtest.New(gitlabtest.Options{Exec: gitlabtest.SleepExec,
		CIConfig: "sleeper:\n  rules:\n    - if: $CHATOPS_JOB == \"sleeper\"\n  script:\n    - sleep 3\n"})
	defer gl.Close()
	gl.AddUser("alice", gitlabtest.Developer)
	mm := mattermosttest.New()
	defer mm.Close()
	user := mm.AddUser("alice", false)
	dir := b.TempDir()
	cfg := filepath.Join(dir, "chatops.toml")
	text := fmt.Sprintf(`
[bot]
per_user_concurrent = 100000
per_user_burst = 100000
per_user_per_minute = 1000000
workers = 128
queue = 2048
[log]
level = "warn"
[store]
path = %q
[gitlab]
url = %q
token = %q
project = %q
poll_interval = "1s"
[identities]
"mattermost:%s" = "alice"
[mattermost]
url = %q
token = %q
`, filepath.Join(dir, "chatops.db"), gl.URL(), gl.Token, gl.ProjectPath, user, mm.URL(), mm.BotToken)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	bin := buildBinary(b)
	cmd := exec.Command(bin, "-config", cfg)
	logf, err := os.Create(filepath.Join(dir, "bot.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := mm.WaitConnected(ctx, 1); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for range n {
		mm.Post(mm.ChannelID, user, "@chatops run sleeper", "")
	}
	answered := 0
	for answered < n {
		r, err := mm.NextBotPost(ctx)
		if err != nil {
			b.Fatalf("%d of %d answered: %v", answered, n, err)
		}
		if r.Patch && strings.Contains(r.Post.Message, "sleeper succeeded") {
			answered++
		}
	}
	last = time.Since(start)
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			peakKiB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return peakKiB * 1024, last
}
