package bot

import (
	"encoding/json"
	"net/http"
	"sort"
)

// HealthHandler serves the adapters' connection states as JSON, with
// status 200 when every adapter that reports a state is connected and 503
// otherwise, for load balancers and Kubernetes probes.
func (b *Bot) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		states := b.States()
		names := make([]string, 0, len(states))
		for n := range states {
			names = append(names, n)
		}
		sort.Strings(names)
		type adapterState struct {
			Adapter string `json:"adapter"`
			State   string `json:"state"`
		}
		body := struct {
			OK       bool           `json:"ok"`
			Adapters []adapterState `json:"adapters"`
		}{OK: true, Adapters: []adapterState{}}
		for _, n := range names {
			s := states[n]
			body.Adapters = append(body.Adapters, adapterState{n, s.String()})
			if s != StateConnected {
				body.OK = false
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if !body.OK {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
}
