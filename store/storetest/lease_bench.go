// The lease benchmarks: renewing and finding nothing free.

package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatops-dev/chatops/store"
)

// benchLeases runs the lease and notification benchmarks: AcquireRuns
// over benchOpenRuns open runs, renewing them all or finding none free
// (another owner holds them: the periodic poll of an idle replica), and
// the time from Notify to the payload reaching Listen, whose p50 and p99
// are reported as metrics.
func benchLeases(b *testing.B, open func(tb testing.TB) store.Store) {
	withRuns := func(b *testing.B, holder string) store.Store {
		s := open(b)
		for i := range benchOpenRuns {
			mustCreate(b, s, &store.Run{ID: fmt.Sprintf("open-%04d", i), Phase: store.PhaseFollowing})
			// Done runs pile up next to the open ones; the index must
			// keep AcquireRuns from reading them.
			mustCreate(b, s, &store.Run{ID: fmt.Sprintf("done-%04d", i), Phase: store.PhaseDone})
		}
		if got := mustAcquire(b, s, holder, time.Hour, benchOpenRuns); len(got) != benchOpenRuns {
			b.Fatalf("AcquireRuns(%q) = %d runs, want %d", holder, len(got), benchOpenRuns)
		}
		return s
	}
	b.Run("AcquireRuns/renew1000", func(b *testing.B) {
		s := withRuns(b, "bench")
		b.ReportAllocs()
		for b.Loop() {
			if runs, err := s.AcquireRuns(b.Context(), "bench", time.Hour, benchOpenRuns); err != nil || len(runs) != benchOpenRuns {
				b.Fatalf("AcquireRuns = %d runs, %v; want %d", len(runs), err, benchOpenRuns)
			}
		}
	})
	b.Run("AcquireRuns/noneFreeOf1000", func(b *testing.B) {
		s := withRuns(b, "other")
		b.ReportAllocs()
		for b.Loop() {
			if runs, err := s.AcquireRuns(b.Context(), "idle", time.Hour, 100); err != nil || len(runs) != 0 {
				b.Fatalf("AcquireRuns = %d runs, %v; want none", len(runs), err)
			}
		}
	})
	b.Run("NotifyListen", func(b *testing.B) {
		s := open(b)
		tok := token()
		warm, bench := tok+"warm", tok+"bench-"
		ch := make(chan string, 16)
		c, cancel := context.WithCancel(b.Context())
		ended := make(chan struct{})
		defer func() { cancel(); <-ended }()
		go func() {
			defer close(ended)
			s.Listen(c, func(p string) {
				if strings.HasPrefix(p, tok) {
					select {
					case ch <- p:
					case <-c.Done():
					}
				}
			})
		}()
		// Listen may still be connecting: notify until it hears.
		for deadline := time.Now().Add(patience); len(ch) == 0; time.Sleep(pollEvery) {
			if time.Now().After(deadline) {
				b.Fatalf("Listen heard nothing within %v", patience)
			}
			if err := s.Notify(b.Context(), warm); err != nil {
				b.Fatal(err)
			}
		}
		var lat []time.Duration
		i := 0
		for b.Loop() {
			want := fmt.Sprintf("%s%d", bench, i)
			i++
			t0 := time.Now()
			if err := s.Notify(b.Context(), want); err != nil {
				b.Fatal(err)
			}
			for heard := false; !heard; {
				select {
				case got := <-ch:
					switch {
					case got == want:
						heard = true
					case got != warm: // a late warm-up payload is fine
						b.Fatalf("heard %q, want %q", got, want)
					}
				case <-time.After(patience):
					b.Fatalf("%q not heard within %v", want, patience)
				}
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
	})
}
