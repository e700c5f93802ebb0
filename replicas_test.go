package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatops-dev/chatops/adapters/discord/discordtest"
	"github.com/chatops-dev/chatops/adapters/slack/slacktest"
	"github.com/chatops-dev/chatops/bot/probe"
	"github.com/chatops-dev/chatops/gitlab/gitlabtest"
	"github.com/chatops-dev/chatops/store"
	"github.com/chatops-dev/chatops/store/postgres"
	"github.com/chatops-dev/chatops/store/postgres/pgtest"
)

// Several replicas of the built binary on one PostgreSQL (issue 14): every
// chat event handled by one of them, every run answered once, a killed
// replica's runs taken over within the lease and a third. The tests log
// their figures as "FIGURE" lines (README, "Several replicas").

// testLease is the [store] lease of these tests: short, so a takeover
// takes seconds. CHATOPS_TEST_LEASE (a Go duration) overrides it, to
// measure with the default of 10s.
func testLease(t *testing.T) time.Duration {
	t.Helper()
	if s := os.Getenv("CHATOPS_TEST_LEASE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Second {
			t.Fatalf("CHATOPS_TEST_LEASE=%q: want a duration of 1s or more", s)
		}
		return d
	}
	return 2 * time.Second
}

// expandExec runs no process, like gitlabtest.SleepExec, but expands $VARS
// from the job's environment first, so restartCI's job prints the chat
// user as with a shell (the runner's echo of the line stays unexpanded).
func expandExec(ctx context.Context, dir string, env []string, line string) (string, int) {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return gitlabtest.SleepExec(ctx, dir, env, os.Expand(line, func(k string) string { return vars[k] }))
}

// newReplicaWorld is newWorld with a GitLab whose jobs start no process
// (a hundred bash processes would measure bash) and, with spread, a Slack
// that spreads envelopes over the app's connections as Slack does. The
// fakes newWorld made instead are closed at its cleanup, unused.
func newReplicaWorld(t *testing.T, ctx context.Context, spread bool) *world {
	t.Helper()
	w := newWorld(t, ctx)
	w.gl = gitlabtest.New(gitlabtest.Options{CIConfig: restartCI, Exec: expandExec})
	t.Cleanup(w.gl.Close)
	w.gl.AddUser("alice", gitlabtest.Developer)
	if spread {
		w.sl = slacktest.New(slacktest.WithSpread())
		t.Cleanup(w.sl.Close)
	}
	return w
}

// replicaConfig is the configuration every replica shares: the store at
// pgURL with the lease given, and an HTTP listener on a free port.
func (w *world) replicaConfig(pgURL string, lease time.Duration) string {
	return w.config(fmt.Sprintf("[store]\nurl = %q\nlease = %q\n[http]\naddr = \"127.0.0.1:0\"", pgURL, lease.String()))
}

var httpAddrRE = regexp.MustCompile(`HTTP listener up.* addr=(\S+)`)

// readyz asks the process's /readyz (its address is in its log).
// readyzUntil reads p's /readyz until ok holds, for up to 10 s.
func (w *world) readyzUntil(p *botProc, ok func(probe.Result) bool, want string) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := w.readyz(p)
		if ok(r) {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("/readyz: %+v, want %s", r.Replica, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *world) readyz(p *botProc) probe.Result {
	w.t.Helper()
	var addr string
	for addr == "" {
		b, _ := os.ReadFile(p.log)
		if m := httpAddrRE.FindSubmatch(b); m != nil {
			addr = string(m[1])
			break
		}
		select {
		case <-w.ctx.Done():
			w.t.Fatalf("no HTTP listener in the log of %s", p.log)
		case <-time.After(10 * time.Millisecond):
		}
	}
	req, _ := http.NewRequestWithContext(w.ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	var r probe.Result
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		w.t.Fatal(err)
	}
	return r
}

// waitConnected waits until n replicas hold a connection to Mattermost
// and to Discord (both deliver every event to every connection).
func (w *world) waitConnected(n int) {
	w.t.Helper()
	for w.mm.Connected() < n || w.dc.Connected() < n {
		select {
		case <-w.ctx.Done():
			w.t.Fatalf("not %d replicas connected: mattermost %d, discord %d", n, w.mm.Connected(), w.dc.Connected())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// thread is what the bot did for one command: the progress messages it
// created in reply, and the final answers edited into them.
type thread struct{ progress, answers int }

// threads counts, per command ("platform:id": a Slack message's ts, a
// Mattermost post id, a Discord message id), the bot's progress messages
// in reply to it and the final answers (the job's output) edited into
// them. A message replying to no command is counted under "platform:".
func (w *world) threads() map[string]*thread {
	out := map[string]*thread{}
	get := func(k string) *thread {
		if out[k] == nil {
			out[k] = &thread{}
		}
		return out[k]
	}
	const final = "answer for "
	byReply := map[string]string{}
	posts := w.sl.Posts()
	for _, p := range posts {
		if p.Method != "chat.update" {
			k := "slack:" + p.ThreadTS
			get(k).progress++
			byReply["slack:"+p.TS] = k
		}
	}
	for _, p := range posts {
		if p.Method == "chat.update" && strings.Contains(p.Text+string(p.Blocks), final) {
			get(byReply["slack:"+p.TS]).answers++
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.mmRecs {
		if !r.Patch {
			k := "mattermost:" + r.Post.RootId
			get(k).progress++
			byReply["mattermost:"+r.Post.Id] = k
		}
	}
	for _, r := range w.mmRecs {
		if r.Patch && strings.Contains(r.Post.Message, final) {
			get(byReply["mattermost:"+r.Post.Id]).answers++
		}
	}
	for _, p := range w.dcPosts {
		if p.Kind == "create" {
			k := "discord:" + p.ReplyTo
			get(k).progress++
			byReply["discord:"+p.MessageID] = k
		}
	}
	for _, p := range w.dcPosts {
		if p.Kind == "edit" && strings.Contains(p.Content, final) {
			get(byReply["discord:"+p.MessageID]).answers++
		}
	}
	return out
}

// waitAnswered waits until every command in keys has a final answer and
// returns when the last one was seen.
func (w *world) waitAnswered(keys []string) time.Time {
	w.t.Helper()
	for {
		th := w.threads()
		missing := 0
		for _, k := range keys {
			if th[k] == nil || th[k].answers == 0 {
				missing++
			}
		}
		if missing == 0 {
			return time.Now()
		}
		select {
		case <-w.ctx.Done():
			w.t.Fatalf("%d of %d commands never answered: %v", missing, len(keys), w.ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// checkOnce checks that each command in keys got one progress message and
// one final answer, that the bot posted nothing else, and that GitLab
// has one pipeline per command and extra more.
func (w *world) checkOnce(keys []string, extra int) {
	w.t.Helper()
	th := w.threads()
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
		if c := th[k]; c == nil || c.progress != 1 || c.answers != 1 {
			w.t.Errorf("%s: %+v, want one progress message and one answer", k, c)
		}
	}
	for k, c := range th {
		if !want[k] {
			w.t.Errorf("%s: %+v posted for no command sent", k, c)
		}
	}
	if n := len(w.gl.Pipelines()); n != len(keys)+extra {
		w.t.Errorf("%d pipelines, want %d", n, len(keys)+extra)
	}
}

// sendMixed sends n "run hello" commands, alternately on Mattermost and
// Discord, and returns their keys.
func (w *world) sendMixed(n int) []string {
	var keys []string
	for i := range n {
		if i%2 == 0 {
			p := w.mm.Post(w.mm.ChannelID, w.mmUser, "@chatops run hello", "")
			keys = append(keys, "mattermost:"+p.Id)
		} else {
			id := w.dc.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: "u1", Content: "<@" + w.dc.BotID + "> run hello"})
			keys = append(keys, "discord:"+id)
		}
	}
	return keys
}

// storeRuns returns every run stored at pgURL, newest first.
func storeRuns(t *testing.T, pgURL string) []*store.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := postgres.Open(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListRuns(ctx, store.RunFilter{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// freshPostgresDatabase creates a database of the test's own on the
// server of CHATOPS_TEST_POSTGRES_URL (dropped when the test ends), or
// skips: its statistics then count this test's processes alone.
func freshPostgresDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CHATOPS_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("CHATOPS_TEST_POSTGRES_URL not set; .ci/run sets it to a throwaway PostgreSQL (scripts/postgres.sh)")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "chatops_replicas_" + hex.EncodeToString(b)
	if err := pgExec(base, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := pgExec(base, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("CHATOPS_TEST_POSTGRES_URL must be a URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func pgExec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// queryCounter counts the statements the bot processes send to a
// database of their own: with pg_stat_statements when the server preloads
// it (every statement, by text), else the database's committed and rolled
// back transactions (pg_stat_database; a statement outside a transaction
// is one, the statistics are flushed when the processes exit).
type queryCounter struct {
	t    *testing.T
	dsn  string
	pgss bool
}

func newQueryCounter(t *testing.T, dsn string) *queryCounter {
	q := &queryCounter{t: t, dsn: dsn}
	if pgExec(dsn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements") == nil &&
		pgExec(dsn, "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)") == nil {
		q.pgss = true
	}
	return q
}

func (q *queryCounter) method() string {
	if q.pgss {
		return "pg_stat_statements calls in the replicas' database"
	}
	return "pg_stat_database xact_commit+xact_rollback of the replicas' database (pg_stat_statements not preloaded)"
}

// query runs one counting query on a connection of its own.
func (q *queryCounter) query(sql string, scan func(pgx.Rows) error) {
	q.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, q.dsn)
	if err != nil {
		q.t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		q.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			q.t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		q.t.Fatal(err)
	}
}

const pgssOurs = `FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
	AND query NOT LIKE '%pg_stat_statements%'`

// begin starts counting with pg_stat_statements (from zero). Without it
// the count starts with the database: a backend flushes its statistics
// up to seconds late, so a baseline read now would be wrong.
func (q *queryCounter) begin() {
	if q.pgss {
		q.query("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)", func(pgx.Rows) error { return nil })
	}
}

// count returns the statements since begin, and those of them that renew
// leases (AcquireRuns runs every third of the lease, runs or not; -1 when
// not known).
func (q *queryCounter) count() (total, renewals int64) {
	if !q.pgss {
		var n int64
		q.query("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()", func(r pgx.Rows) error { return r.Scan(&n) })
		return n, -1
	}
	type stmt struct {
		calls int64
		query string
	}
	var all []stmt
	q.query("SELECT calls, query "+pgssOurs, func(r pgx.Rows) error {
		var s stmt
		if err := r.Scan(&s.calls, &s.query); err != nil {
			return err
		}
		all = append(all, s)
		total += s.calls
		if strings.Contains(s.query, "WITH picked AS") {
			renewals += s.calls
		}
		return nil
	})
	sort.Slice(all, func(i, j int) bool { return all[i].calls > all[j].calls })
	for i, s := range all {
		if i == 10 {
			break
		}
		q.t.Logf("  %6d × %.90s", s.calls, strings.Join(strings.Fields(s.query), " "))
	}
	return total, renewals
}

// logCounts sums words' log lines over the processes, and lists them per
// process.
func logCounts(procs []*botProc, words ...string) (int, []int) {
	total, per := 0, make([]int, len(procs))
	for i, p := range procs {
		per[i] = p.logCount(words...)
		total += per[i]
	}
	return total, per
}

// TestReplicasThreeProcessesHundredCommands: three replicas share one
// PostgreSQL, Mattermost and Discord deliver each of 100 commands to all
// three; each command is handled by one (the two others drop it on its
// claim), makes one pipeline and gets one answer. It measures commands
// per second across the replicas and statements per run.
func TestReplicasThreeProcessesHundredCommands(t *testing.T) {
	pgURL := freshPostgresDatabase(t)
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	w := newReplicaWorld(t, ctx, false)
	cfg := w.replicaConfig(pgURL, testLease(t))
	var procs []*botProc
	for range 3 {
		procs = append(procs, w.start(bin, cfg))
	}
	w.waitConnected(3)
	qc := newQueryCounter(t, pgURL)
	qc.begin()
	reqsBefore := len(w.gl.Requests())

	const n = 100
	start := time.Now()
	keys := w.sendMixed(n)
	last := w.waitAnswered(keys)
	elapsed := last.Sub(start)
	// Long enough for a doubled answer to show: a run is answered a few
	// polls (30ms) after its job ends.
	time.Sleep(500 * time.Millisecond)
	window := time.Since(start)
	total, renewals := int64(0), int64(-1)
	if qc.pgss {
		total, renewals = qc.count()
	}

	w.checkOnce(keys, 0)
	recorded, per := logCounts(procs, "run recorded")
	if recorded != n {
		t.Errorf("%d runs recorded over the replicas, want %d", recorded, n)
	}
	// Every replica saw every command: one handled it, two dropped it. A
	// replica whose gateway session was resumed under load gets the
	// events it missed replayed, late: wait for them.
	for {
		dropped, perDrop := logCounts(procs, "dropping duplicate delivery")
		if dropped == 2*n {
			break
		}
		if dropped > 2*n {
			t.Fatalf("%d deliveries dropped as duplicates (per replica %v), want %d", dropped, perDrop, 2*n)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d deliveries dropped as duplicates (per replica %v), want %d", dropped, perDrop, 2*n)
		case <-time.After(20 * time.Millisecond):
		}
	}
	seen := map[string]bool{}
	for _, p := range w.gl.Pipelines() {
		id := p.Variables["CHATOPS_RUN_ID"]
		if seen[id] {
			t.Errorf("run %s has two pipelines", id)
		}
		seen[id] = true
	}
	glReqs := len(w.gl.Requests()) - reqsBefore

	for _, p := range procs {
		p.stop()
	}
	if !qc.pgss {
		total, _ = qc.count()
	}
	runs := storeRuns(t, pgURL)
	if len(runs) != n {
		t.Errorf("%d runs stored, want %d", len(runs), n)
	}
	for _, r := range runs {
		if r.Open() {
			t.Errorf("run %s still open (%s)", r.ID, r.Phase)
		}
	}
	t.Logf("FIGURE runs per replica: %v", per)
	t.Logf("FIGURE commands per second across 3 replicas: %.1f (%d commands, first posted to last answered in %s)",
		float64(n)/elapsed.Seconds(), n, elapsed.Round(time.Millisecond))
	t.Logf("FIGURE GitLab requests per run: %.1f (%d over the 3 replicas)", float64(glReqs)/n, glReqs)
	switch {
	case renewals >= 0:
		t.Logf("FIGURE PostgreSQL statements per run: %.1f (%d statements in %s, %d of them lease renewals, which run every %s per replica with or without runs; %.1f per run without them) [%s]",
			float64(total)/n, total, window.Round(time.Millisecond), renewals, testLease(t)/3, float64(total-renewals)/n, qc.method())
	default:
		t.Logf("FIGURE PostgreSQL transactions per run: %.1f (%d over the replicas' whole life: start-up, migration, lease renewals and shutdown included) [%s]",
			float64(total)/n, total, qc.method())
	}
}

// TestReplicasTakeOverKilledReplica: one replica follows 10 open runs (its
// jobs blocked) when it is SIGKILLed; the two others take them over once
// the leases lapse and answer each exactly once, within the lease and a
// third (plus the answer's own time).
func TestReplicasTakeOverKilledReplica(t *testing.T) {
	pgURL := pgtest.FreshSchema(t)
	bin := buildBinary(t)
	lease := testLease(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second+2*lease)
	defer cancel()
	w := newReplicaWorld(t, ctx, false)
	cfg := w.replicaConfig(pgURL, lease)
	w.gl.Block("hello")

	// The first replica alone receives the commands, so it holds them all.
	first := w.start(bin, cfg)
	keys := w.sendMixed(10)
	if err := waitJobs(ctx, w.gl, 10, "running"); err != nil {
		t.Fatal(err)
	}
	owner := waitFollowing(t, ctx, pgURL, 10)
	others := []*botProc{w.start(bin, cfg), w.start(bin, cfg)}
	w.waitConnected(3)

	// /readyz names each replica as the store's lease owner, with its
	// role on each platform and the runs it follows.
	rf := w.readyz(first)
	if rf.Replica == nil || rf.Replica.ID != owner || rf.Replica.Runs != 10 || rf.Replica.Store != "postgres" {
		t.Fatalf("/readyz of the replica holding the runs: %+v, want id %s and 10 runs", rf.Replica, owner)
	}
	for _, platform := range []string{"slack", "mattermost", "discord"} {
		if role := rf.Replica.Roles[platform]; role != "serving" {
			t.Errorf("/readyz role on %s: %q, want serving", platform, role)
		}
	}
	for _, p := range others {
		r := w.readyz(p)
		if !r.Ready || r.Replica == nil || r.Replica.ID == "" || r.Replica.ID == owner || r.Replica.Runs != 0 {
			t.Fatalf("/readyz of a new replica: ready %v, %+v", r.Ready, r.Replica)
		}
	}
	for _, r := range storeRuns(t, pgURL) {
		if r.Owner != owner {
			t.Fatalf("run %s leased to %q, not to the first replica %q", r.ID, r.Owner, owner)
		}
	}

	first.kill()
	killed := time.Now()
	w.gl.Unblock("hello") // the jobs end: whoever follows the runs answers them
	var takenOver time.Duration
	for takenOver == 0 {
		moved := 0
		for _, r := range storeRuns(t, pgURL) {
			if r.Owner != owner {
				moved++
			}
		}
		if moved == 10 {
			takenOver = time.Since(killed)
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of 10 runs taken over", moved)
		case <-time.After(20 * time.Millisecond):
		}
	}
	answered := w.waitAnswered(keys).Sub(killed)
	time.Sleep(500 * time.Millisecond) // a doubled answer would show
	w.checkOnce(keys, 0)
	resumed := 0
	for _, p := range others {
		b, _ := os.ReadFile(p.log)
		for _, m := range regexp.MustCompile(`resuming open runs.* runs=(\d+)`).FindAllSubmatch(b, -1) {
			var k int
			fmt.Sscan(string(m[1]), &k)
			resumed += k
		}
	}
	if resumed != 10 {
		t.Errorf("the two replicas resumed %d runs, want 10", resumed)
	}
	// The bound: the lease lapses at most a lease after its last renewal,
	// and the others try every third of it; answering takes a poll and a
	// few requests on top.
	bound := lease + lease/3 + 2*time.Second
	if answered > bound {
		t.Errorf("the last run was answered %s after the kill, over the bound %s", answered, bound)
	}
	t.Logf("FIGURE takeover after SIGKILL (lease %s): runs leased to the others %s after the kill, last of 10 answered after %s (bound %s)",
		lease, takenOver.Round(time.Millisecond), answered.Round(time.Millisecond), bound)
}

// TestReplicasSlackTwoConnections: two replicas each hold a Socket Mode
// connection; Slack spreads the envelopes over both, and a retry of each
// lands on the other replica, which drops it: one pipeline each.
func TestReplicasSlackTwoConnections(t *testing.T) {
	pgURL := pgtest.FreshSchema(t)
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := newReplicaWorld(t, ctx, true)
	cfg := w.replicaConfig(pgURL, testLease(t))
	// Connections are numbered in the order they opened: the replica
	// started first holds connection 1.
	procs := []*botProc{w.start(bin, cfg), w.start(bin, cfg)}
	if got := w.sl.Connections(); got != 2 {
		t.Fatalf("%d Slack connections, want one per replica", got)
	}

	const n = 10
	var keys []string
	var sent []slacktest.Delivery
	perConn := map[int]int{}
	for range n {
		d := w.sl.Mention("C1", "U1", "run hello")
		sent = append(sent, d)
		keys = append(keys, "slack:"+d.TS)
		perConn[w.sl.CarriedBy(d.EnvelopeIDs[0])]++
	}
	if perConn[1] != n/2 || perConn[2] != n/2 {
		t.Fatalf("envelopes per connection %v, want %d on each", perConn, n/2)
	}
	w.waitAnswered(keys)
	for _, d := range sent {
		// The replica whose connection carried the envelope handled it.
		handler := procs[w.sl.CarriedBy(d.EnvelopeIDs[0])-1]
		if c := handler.logCount("run recorded", "event=C1:"+d.TS); c != 1 {
			t.Errorf("event %s: %d runs recorded by the replica that received it", d.TS, c)
		}
		again, err := w.sl.Redeliver(d.EnvelopeIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.sl.WaitAck(ctx, again); err != nil {
			t.Fatal(err)
		}
		other := procs[w.sl.CarriedBy(again)-1]
		if other == handler {
			t.Fatalf("the retry of %s landed on the replica that handled it", d.TS)
		}
		w.waitLog(other, 1, "dropping duplicate delivery", "event=C1:"+d.TS)
	}
	time.Sleep(300 * time.Millisecond) // a second run would show
	w.checkOnce(keys, 0)
	if recorded, per := logCounts(procs, "run recorded"); recorded != n || per[0] != n/2 {
		t.Errorf("runs recorded per replica %v, want %d each", per, n/2)
	}
}

// TestReplicasDiscordKillServing: two replicas hold Discord gateway
// sessions (every event reaches both, claims decide). The one that handled
// a command is killed with its run open; the other takes the run over
// within the bound, answers it once, and serves the next message and
// interaction at once: no failover gap, nothing doubled.
func TestReplicasDiscordKillServing(t *testing.T) {
	pgURL := pgtest.FreshSchema(t)
	bin := buildBinary(t)
	lease := testLease(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second+2*lease)
	defer cancel()
	w := newReplicaWorld(t, ctx, false)
	cfg := w.replicaConfig(pgURL, lease)
	procs := []*botProc{w.start(bin, cfg), w.start(bin, cfg)}
	w.waitConnected(2)
	w.gl.Block("hello")

	send := func() string {
		return "discord:" + w.dc.Send(discordtest.Message{ChannelID: "c1", GuildID: "g1", AuthorID: "u1", Content: "<@" + w.dc.BotID + "> run hello"})
	}
	first := send()
	ev := "event=" + strings.TrimPrefix(first, "discord:")
	var serving, other *botProc
	for serving == nil {
		for i, p := range procs {
			if p.logCount("run recorded", ev) > 0 {
				serving, other = p, procs[1-i]
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("no replica recorded the run")
		case <-time.After(10 * time.Millisecond):
		}
	}
	w.waitLog(other, 1, "dropping duplicate delivery", ev)
	if err := waitJobs(ctx, w.gl, 1, "running"); err != nil {
		t.Fatal(err)
	}
	owner := waitFollowing(t, ctx, pgURL, 1)
	// A gateway connection may be between a resume and its READY for a
	// moment on a loaded machine: the roles are read until they settle.
	w.readyzUntil(serving, func(r probe.Result) bool {
		return r.Replica != nil && r.Replica.ID == owner && r.Replica.Runs == 1 && r.Replica.Roles["discord"] == "serving"
	}, "the replica that handled the command: id "+owner+", 1 run, serving discord")
	w.readyzUntil(other, func(r probe.Result) bool {
		return r.Replica != nil && r.Replica.Runs == 0 && r.Replica.Roles["discord"] == "serving"
	}, "the other replica: no run, serving discord")

	serving.kill()
	killed := time.Now()
	w.gl.Unblock("hello")
	// The survivor serves new events at once: its session was up all
	// along, so there is no failover gap for new commands.
	second := send()
	w.dc.Interaction("c1", "g1", "u1", "run hello")
	secondAt := w.waitAnswered([]string{second}).Sub(killed)
	answered := w.waitAnswered([]string{first, second}).Sub(killed)
	interactionAnswers := func() (callbacks, answers int) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, p := range w.dcPosts {
			switch {
			case p.Kind == "callback":
				callbacks++
			case (p.Kind == "edit-original" || p.Kind == "followup") && strings.Contains(p.Content, "answer for "):
				answers++
			}
		}
		return callbacks, answers
	}
	for {
		if _, a := interactionAnswers(); a > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the interaction was never answered")
		case <-time.After(10 * time.Millisecond):
		}
	}
	time.Sleep(500 * time.Millisecond)      // a doubled answer would show
	w.checkOnce([]string{first, second}, 1) // and the interaction's
	if c, a := interactionAnswers(); c != 1 || a != 1 {
		t.Errorf("interaction: %d callbacks and %d answers, want one of each", c, a)
	}
	if rej := w.dc.Rejected(); len(rej) != 0 {
		t.Errorf("Discord refused %+v: a second replica answered", rej)
	}
	bound := lease + lease/3 + 2*time.Second
	if answered > bound {
		t.Errorf("the killed replica's run was answered %s after the kill, over the bound %s", answered, bound)
	}
	t.Logf("FIGURE Discord, serving replica killed (lease %s): new command answered by the other after %s, the open run taken over and answered after %s (bound %s)",
		lease, secondAt.Round(time.Millisecond), answered.Round(time.Millisecond), bound)
}

// waitFollowing waits until n runs are stored following with their
// progress reply, and returns the owner of one.
func waitFollowing(t *testing.T, ctx context.Context, pgURL string, n int) string {
	t.Helper()
	for {
		var owner string
		following := 0
		for _, r := range storeRuns(t, pgURL) {
			if r.Phase == store.PhaseFollowing && r.ReplyID != "" {
				following++
				owner = r.Owner
			}
		}
		if following == n {
			return owner
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d runs following", following, n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
