package run

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatops-dev/chatops/gitlab"
)

// Webhooks: what a hook says of a followed run, hooks that come before
// their run is followed, and relaying hooks to the other processes
// sharing the store.

// maxEarly bounds the hooks kept for pipelines not followed (yet); most
// are for pipelines chatops did not start.
const maxEarly = 4096

// earlyHooks is what the hooks for a pipeline not followed (yet) said.
type earlyHooks struct {
	at time.Time
	// status is the furthest in-progress status; done is set when any hook
	// said something else (finished, manual), which needs the job read.
	status string
	done   bool
}

// earlyHook remembers a hook for a pipeline no run follows yet.
func (w *watcher) earlyHook(ev gitlab.HookEvent, now time.Time) {
	if len(w.early) >= maxEarly {
		for id, e := range w.early {
			if now.Sub(e.at) > time.Minute {
				delete(w.early, id)
			}
		}
		if len(w.early) >= maxEarly {
			clear(w.early)
		}
	}
	e := w.early[ev.PipelineID]
	e.at = now
	if inProgress(ev.Status) {
		if progressRank(ev.Status) > progressRank(e.status) {
			e.status = ev.Status // hooks arrive in any order
		}
	} else {
		e.done = true
	}
	w.early[ev.PipelineID] = e
}

// takeEarly applies to t the hooks for its pipeline that came before it
// was followed.
func (w *watcher) takeEarly(t *tracked) {
	id := t.run.PipelineID
	e, ok := w.early[id]
	if id == 0 || !ok {
		return
	}
	delete(w.early, id)
	if e.done {
		t.due = true
		return
	}
	w.learnt(t, e.status)
}

// hookMsg is a webhook event, relayed when it came through the store
// from another process (and so is not relayed again).
type hookMsg struct {
	ev      gitlab.HookEvent
	relayed bool
}

func (w *watcher) hook(ev gitlab.HookEvent) {
	select {
	case w.hooks <- hookMsg{ev: ev}:
	default: // the backup poll will see it
	}
}

// hookPrefix marks a webhook relayed through the store: the payload is
// "hook:<pipeline id>:<status>" (the status may be missing, as processes
// before it was added sent it; the job is read then).
const hookPrefix = "hook:"

// relay passes a webhook for a pipeline this process does not follow to
// the others sharing the store: the one holding the run answers. The
// status goes with it, so a hook saying only "running" costs no job read
// there either (nor here: this process hears its own relays too).
func (w *watcher) relay(ctx context.Context, tasks *sync.WaitGroup, ev gitlab.HookEvent) {
	payload := hookPrefix + strconv.FormatInt(ev.PipelineID, 10) + ":" + ev.Status
	tasks.Go(func() {
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := w.st.Notify(nctx, payload); err != nil {
			w.log.Debug("could not relay a webhook", "err", err)
		}
	})
}

// notePrefix marks a run's note relayed through the store: the payload
// is "note:<run id>:<text>", for whichever process follows the run (a
// `cancel` served by one replica, the run followed by another).
const notePrefix = "note:"

// relayNote passes a note for a run this process does not follow to the
// others sharing the store: the one following the run adds it.
func (w *watcher) relayNote(ctx context.Context, tasks *sync.WaitGroup, n runNote) {
	payload := notePrefix + n.run + ":" + n.text
	tasks.Go(func() {
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := w.st.Notify(nctx, payload); err != nil {
			w.log.Warn("could not pass a run's note to the process following it", "run", n.run, "err", err)
		}
	})
}

// listen wakes this process for webhooks, and takes the runs' notes,
// other processes relayed.
func (w *watcher) listen(ctx context.Context) {
	err := w.st.Listen(ctx, func(payload string) {
		if rest, ok := strings.CutPrefix(payload, notePrefix); ok {
			if id, text, ok := strings.Cut(rest, ":"); ok {
				select {
				case w.notes <- runNote{run: id, text: text, relayed: true}:
				default:
				}
			}
			return
		}
		rest, ok := strings.CutPrefix(payload, hookPrefix)
		if !ok {
			return
		}
		id, status, _ := strings.Cut(rest, ":")
		if pid, err := strconv.ParseInt(id, 10, 64); err == nil {
			select {
			case w.hooks <- hookMsg{ev: gitlab.HookEvent{PipelineID: pid, Status: status}, relayed: true}:
			default:
			}
		}
	})
	if err != nil && ctx.Err() == nil {
		w.log.Warn("not listening for webhooks relayed by other processes", "err", err)
	}
}

// hooked takes a webhook for t's pipeline. A hook relayed by a process
// older than the status in the relay carries none: the job is read.
func (w *watcher) hooked(t *tracked, ev gitlab.HookEvent) {
	if ev.Status == "" {
		t.due = true
		return
	}
	w.learnt(t, ev.Status)
}
