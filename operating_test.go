package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/chatops-dev/chatops/adapters/discord/discordtest"
	"github.com/chatops-dev/chatops/bot/bottest"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
)

// TestOperatingAllAdapters wires the real process with every chat
// platform (fakes speaking their wire protocols) and GitLab, logging at
// debug level with the HTTP listener on, runs a command from each
// platform, and then checks what an operator relies on: /metrics parses
// as Prometheus text and holds every family; /readyz flips to 503 while
// the Mattermost connection is down and back to 200 when it returns; and
// no token appears in stderr, /metrics or /readyz.
func TestOperatingAllAdapters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := startPlatforms(t, ctx)
	demo, sl, mm, mmUser, dc := p.demo, p.sl, p.mm, p.mmUser, p.dc
	path := p.config(t, "[log]\nlevel = \"debug\"\n[http]\naddr = \"127.0.0.1:0\"\n",
		"webhook_secret = \"${TEST_HOOK_SECRET}\"\nwebhook_poll_interval = \"30ms\"")
	hookSecret := "hook-secret-0123456789"
	t.Setenv("TEST_HOOK_SECRET", hookSecret)
	secrets := map[string]string{"gitlab": demo.Token, "webhook": hookSecret, "slack app": sl.AppToken,
		"slack bot": sl.BotToken, "mattermost": mm.BotToken, "discord": dc.Token}

	var stdout bytes.Buffer
	stderr := &bottest.Buffer{}
	a, stop := runApp(t, ctx, path, &stdout, stderr)
	defer stop()
	base := "http://" + a.httpAddr

	if err := sl.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := mm.WaitConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := dc.WaitSessions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return dc.Connected() == 1 })
	waitFor(t, func() bool { code, _ := get(t, base+"/readyz"); return code == http.StatusOK })

	// A command from every platform.
	sl.Mention("C1", "U1", "run hello-world")
	mm.Post(mm.ChannelID, mmUser, "@chatops run hello-world", "")
	dc.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: "u1", Content: "<@" + dc.BotID + "> run hello-world"})
	for {
		r, err := mm.NextBotPost(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.Post.Message, "Hello World") {
			break
		}
	}
	waitFor(t, func() bool { return len(demo.Pipelines()) == 3 })

	// /metrics: Prometheus text with every family.
	var fams map[string]*dto.MetricFamily
	waitFor(t, func() bool {
		_, body := get(t, base+"/metrics")
		p := expfmt.NewTextParser(model.UTF8Validation)
		var err error
		fams, err = p.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatalf("/metrics does not parse: %v", err)
		}
		// Every run answered and left: the in-flight gauge is back to 0.
		return count(fams, "chatops_run_duration_seconds", nil) == 3 && gauge(fams, "chatops_runs_in_flight", nil) == 0
	})
	for _, name := range []string{"chatops_commands_total", "chatops_command_duration_seconds", "chatops_runs_in_flight",
		"chatops_run_duration_seconds", "chatops_run_answer_latency_seconds", "chatops_gitlab_requests_total",
		"chatops_gitlab_request_duration_seconds", "chatops_adapter_connected", "chatops_adapter_disconnects_total",
		"chatops_events_deduplicated_total", "chatops_queue_depth", "chatops_commands_refused_total", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if got := counter(fams, "chatops_commands_total", map[string]string{"command": "run", "outcome": "ok"}); got != 3 {
		t.Errorf("chatops_commands_total{command=run,outcome=ok} = %v, want 3", got)
	}
	for _, ep := range []string{"user", "project", "users", "members", "lint", "pipelines", "jobs", "trace"} {
		if counter(fams, "chatops_gitlab_requests_total", map[string]string{"endpoint": ep, "status": "200"})+
			counter(fams, "chatops_gitlab_requests_total", map[string]string{"endpoint": ep, "status": "201"}) == 0 {
			t.Errorf("no GitLab %s requests counted", ep)
		}
	}
	if got := count(fams, "chatops_run_duration_seconds", map[string]string{"job": "hello-world", "outcome": "success"}); got != 3 {
		t.Errorf("run duration count for hello-world success = %v, want 3", got)
	}
	waitFor(t, func() bool {
		_, m := get(t, base+"/metrics")
		return strings.Contains(m, `chatops_adapter_connected{adapter="discord"} 1`) &&
			strings.Contains(m, `chatops_adapter_connected{adapter="mattermost"} 1`) && strings.Contains(m, `chatops_adapter_connected{adapter="slack"} 1`)
	})

	// /readyz follows the Mattermost connection.
	mm.SetRefuseConnections(true)
	mm.DropConnections()
	var body string
	waitFor(t, func() bool {
		var code int
		code, body = get(t, base+"/readyz")
		return code == http.StatusServiceUnavailable
	})
	var ready struct {
		Ready   bool     `json:"ready"`
		Reasons []string `json:"reasons"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || ready.Ready || len(ready.Reasons) != 1 || !strings.HasPrefix(ready.Reasons[0], "adapter mattermost: ") {
		t.Errorf("/readyz while Mattermost is down: %s (%v)", body, err)
	}
	mm.SetRefuseConnections(false)
	waitFor(t, func() bool { code, _ := get(t, base+"/readyz"); return code == http.StatusOK })
	waitFor(t, func() bool {
		_, m := get(t, base+"/metrics")
		return strings.Contains(m, `chatops_adapter_disconnects_total{adapter="mattermost"} 1`)
	})

	// The secret scan.
	_, metricsText := get(t, base+"/metrics")
	_, readyText := get(t, base+"/readyz")
	logs := stderr.String()
	// The start-up check: one line per platform (as which bot user), one summary.
	for _, w := range []string{`check=slack found="as @chatops (UBOT)`, `check=mattermost found="as @chatops (`, `check=discord found="as @chatops (` + dc.BotID,
		`check=gitlab found="` + demo.URL + ` as @` + gitlabtest.BotUser, `msg="chatops starting" platforms=`} {
		if !strings.Contains(logs, w) {
			t.Errorf("stderr lacks the start-up line %q", w)
		}
	}
	if !strings.Contains(logs, "level=DEBUG") || !strings.Contains(logs, `msg="pipeline created"`) {
		t.Errorf("the scan needs debug logs and audit lines; stderr:\n%.2000s", logs)
	}
	for name, s := range secrets {
		for where, text := range map[string]string{"stderr": logs, "/metrics": metricsText, "/readyz": readyText} {
			if strings.Contains(text, s) {
				t.Errorf("the %s token appears in %s", name, where)
			}
		}
	}
	if t.Failed() {
		t.Logf("stderr:\n%s", logs)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// series finds the series of a family whose labels include want.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func counter(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	var sum float64
	for _, m := range series(fams, name, labels) {
		sum += m.GetCounter().GetValue()
	}
	return sum
}

func gauge(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	var sum float64
	for _, m := range series(fams, name, labels) {
		sum += m.GetGauge().GetValue()
	}
	return sum
}

// count is the number of observations of a histogram.
func count(fams map[string]*dto.MetricFamily, name string, labels map[string]string) uint64 {
	var n uint64
	for _, m := range series(fams, name, labels) {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}
