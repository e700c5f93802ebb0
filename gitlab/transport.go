package gitlab

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// httpClient is the client every request goes through: base (or a default
// one) with two additions. A response must start within RequestTimeout,
// per attempt, while its body may stream for longer (a job log). And each
// response's Date header tells GitLab's clock, so time windows sent to
// GitLab (pipelines updated since...) are computed on GitLab's clock, not
// the bot's.
func (s *Service) httpClient(base *http.Client) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &observingTransport{next: next, headerTimeout: s.cfg.RequestTimeout, skew: &s.skew}
	return c
}

type observingTransport struct {
	next          http.RoundTripper
	headerTimeout time.Duration
	skew          *atomic.Int64 // GitLab's clock minus ours, in ns
}

func (t *observingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = userTokenOnly(req)
	ctx, cancel := context.WithCancel(req.Context())
	timer := time.AfterFunc(t.headerTimeout, cancel)
	sent := time.Now()
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if !timer.Stop() && err != nil {
		cancel()
		return nil, &headerTimeoutError{after: t.headerTimeout, err: err}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
		// The Date header has second precision: the midpoint of the
		// exchange is the best local estimate of when it was written.
		local := sent.Add(time.Since(sent) / 2)
		t.skew.Store(int64(d.Sub(local)))
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type headerTimeoutError struct {
	after time.Duration
	err   error
}

func (e *headerTimeoutError) Error() string {
	return "GitLab did not answer within " + e.after.String() + ": " + e.err.Error()
}
func (e *headerTimeoutError) Unwrap() error { return e.err }

// cancelOnClose releases the request's context once its body is done.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// bound limits one exported call (retries included) to n request
// timeouts.
func (s *Service) bound(ctx context.Context, n int) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, time.Duration(n)*s.cfg.RequestTimeout)
}
