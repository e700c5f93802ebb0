// Package metrics defines every Prometheus metric chatops exports, in one
// place, on a registry the caller owns (no global registry). The bot, the
// command router, the run plugin and the GitLab client do not import
// Prometheus: each declares a small hook (bot.Observer, a
// commands.Middleware, run.Observer, an http.RoundTripper) and *Metrics
// implements them all, so metrics stay optional (a nil hook is off) and
// their names, labels and bounds are reviewed here alone.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MaxJobs bounds the job label of run metrics: job names come from the CI
// configuration, which anyone who may push to it can grow, so past this
// many distinct names new ones are counted as "other".
const MaxJobs = 100

// Metrics holds chatops' collectors and the hook methods that feed them.
// It is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	commands       *prometheus.CounterVec
	commandSeconds *prometheus.HistogramVec
	runsInFlight   prometheus.Gauge
	runSeconds     *prometheus.HistogramVec
	answerLatency  prometheus.Histogram
	gitlabRequests *prometheus.CounterVec
	gitlabSeconds  *prometheus.HistogramVec
	connected      *prometheus.GaugeVec
	reconnects     *prometheus.CounterVec
	deduplicated   *prometheus.CounterVec
	refusals       *prometheus.CounterVec

	mu    sync.Mutex
	jobs  map[string]bool // job label values handed out so far
	state map[string]bool // adapter -> connected at the last report
}

// New creates the collectors and registers them on reg.
func New(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		reg: reg,
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatops_commands_total",
			Help: "Commands handled, by command and outcome (ok, refused, bad_input, canceled, error).",
		}, []string{"command", "outcome"}),
		commandSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chatops_command_duration_seconds",
			Help:    "Time from a command's dispatch to its handler's return (a run returns once its pipeline exists).",
			Buckets: prometheus.DefBuckets,
		}, []string{"command"}),
		runsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatops_runs_in_flight",
			Help: "Runs this process follows: started or resumed, not yet answered.",
		}),
		runSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chatops_run_duration_seconds",
			Help:    "How long the job of an answered run ran in GitLab, by job (at most 100 names, then other) and outcome.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"job", "outcome"}),
		answerLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chatops_run_answer_latency_seconds",
			Help:    "Time from a job's completion in GitLab to its answer being posted in chat.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300},
		}),
		gitlabRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatops_gitlab_requests_total",
			Help: "GitLab API requests, by endpoint class (ids stripped) and HTTP status (error when none came back).",
		}, []string{"endpoint", "status"}),
		gitlabSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chatops_gitlab_request_duration_seconds",
			Help:    "GitLab API request latency, by endpoint class.",
			Buckets: prometheus.DefBuckets,
		}, []string{"endpoint"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "chatops_adapter_connected",
			Help: "1 while the chat adapter is connected, else 0.",
		}, []string{"adapter"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatops_adapter_disconnects_total",
			Help: "Times a chat adapter went from connected to not connected (each is followed by a reconnect).",
		}, []string{"adapter"}),
		deduplicated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatops_events_deduplicated_total",
			Help: "Chat events dropped because they had been handled already (redeliveries, other replicas).",
		}, []string{"adapter"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatops_commands_refused_total",
			Help: "Commands not started because the bot was busy (queue full) or shutting down.",
		}, []string{"adapter", "reason"}),
		jobs:  map[string]bool{},
		state: map[string]bool{},
	}
	reg.MustRegister(m.commands, m.commandSeconds, m.runsInFlight, m.runSeconds, m.answerLatency,
		m.gitlabRequests, m.gitlabSeconds, m.connected, m.reconnects, m.deduplicated, m.refusals)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// QueueDepth exports depth, read at each scrape, as
// chatops_queue_depth: commands waiting for a worker.
func (m *Metrics) QueueDepth(depth func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chatops_queue_depth",
		Help: "Commands waiting for a free worker.",
	}, func() float64 { return float64(depth()) }))
}

// job returns the label value for a job name: the name itself for the
// first MaxJobs names seen, "other" after that.
func (m *Metrics) job(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.jobs[name] {
		return name
	}
	if len(m.jobs) >= MaxJobs {
		return "other"
	}
	m.jobs[name] = true
	return name
}

func seconds(d time.Duration) float64 { return d.Seconds() }
