package cloud

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// RetryPolicy says how requests the cloud refused for a while are retried:
// 429 and 503 always (the request was not carried out), 500, 502 and 504 and
// connection failures only for GET, HEAD, PUT and DELETE, which are safe to
// repeat. A Retry-After header sets the wait, capped at Max.
type RetryPolicy struct {
	Attempts int           // tries in all, default 5
	Initial  time.Duration // first wait without Retry-After, default 1s
	Max      time.Duration // longest wait, default 30s
	// Sleep waits for d or until ctx ends (tests record the waits).
	Sleep func(ctx context.Context, d time.Duration) error
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts == 0 {
		p.Attempts = 5
	}
	if p.Initial == 0 {
		p.Initial = time.Second
	}
	if p.Max == 0 {
		p.Max = 30 * time.Second
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	return p
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p RetryPolicy) retryFunc() gophercloud.RetryFunc {
	p = p.withDefaults()
	return func(ctx context.Context, method, url string, _ *gophercloud.RequestOpts, err error, failCount uint) error {
		if int(failCount) >= p.Attempts {
			return err
		}
		var ue gophercloud.ErrUnexpectedResponseCode
		isHTTP := errors.As(err, &ue)
		if !retryable(method, ue.Actual, isHTTP) {
			return err
		}
		wait := p.backoff(failCount)
		if isHTTP {
			if d, ok := retryAfter(ue.ResponseHeader, time.Now()); ok {
				wait = min(d, p.Max)
			}
		}
		if serr := p.Sleep(ctx, wait); serr != nil {
			return err
		}
		return nil
	}
}

func retryable(method string, status int, isHTTP bool) bool {
	idempotent := method == http.MethodGet || method == http.MethodHead || method == http.MethodPut || method == http.MethodDelete
	if !isHTTP {
		return idempotent
	}
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return idempotent
	}
	return false
}

// backoff is the wait before try n+1: Initial doubling up to Max, with up to
// 20% jitter so many clients do not retry in step.
func (p RetryPolicy) backoff(n uint) time.Duration {
	d := p.Initial
	for i := uint(1); i < n && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
