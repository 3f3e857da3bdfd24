package cloud

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeOpenStack answers like Keystone and Nova with the APIs' real JSON
// shapes. It stands in only where the real services (which the
// openstacktest package drives) cannot be made to fail on cue: a 429 with
// Retry-After, a 503 or 500 in the middle of a run.
type fakeOpenStack struct {
	*httptest.Server
	mu       sync.Mutex
	failures []int // statuses to answer to the next compute requests, in order
	retryAt  string
	requests []string
}

func newFakeOpenStack(t *testing.T) *fakeOpenStack {
	f := &fakeOpenStack{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOpenStack) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/v3/auth/tokens" {
		w.Header().Set("X-Subject-Token", "tok")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token": {"methods": ["password"], "project": {"id": "p1", "name": "buttctl", "domain": {"id": "default", "name": "Default"}},
  "user": {"id": "u1", "name": "buttctl", "domain": {"id": "default", "name": "Default"}}, "expires_at": "2099-01-01T00:00:00.000000Z",
  "catalog": [
    {"type": "compute", "name": "nova", "endpoints": [{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "%[1]s/compute/v2.1"}]},
    {"type": "network", "name": "neutron", "endpoints": [{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "%[1]s/network"}]},
    {"type": "image", "name": "glance", "endpoints": [{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "%[1]s/image"}]}]}}`, f.URL)
		return
	}
	switch r.URL.Path { // version discovery, as neutron and glance answer it
	case "/network/", "/network":
		fmt.Fprintf(w, `{"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"href": "%s/network/v2.0/", "rel": "self"}]}]}`, f.URL)
		return
	case "/image/", "/image":
		fmt.Fprintf(w, `{"versions": [{"id": "v2.16", "status": "CURRENT", "links": [{"href": "%s/image/v2/", "rel": "self"}]}]}`, f.URL)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	var status int
	if len(f.failures) > 0 {
		status, f.failures = f.failures[0], f.failures[1:]
	}
	f.mu.Unlock()
	switch status {
	case 0:
	case http.StatusTooManyRequests:
		if f.retryAt != "" {
			w.Header().Set("Retry-After", f.retryAt)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"overLimit": {"code": 429, "message": "This request was rate-limited.", "retryAfter": "7"}}`)
		return
	default:
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"computeFault": {"code": %d, "message": "Unexpected API Error."}}`, status)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/compute/v2.1/servers/detail":
		fmt.Fprint(w, `{"servers": [{"id": "s1", "name": "hub-1", "status": "ACTIVE", "created": "2026-01-02T03:04:05Z", "updated": "2026-01-02T03:04:05Z",
  "metadata": {"buttctl.hub": "hub-1"}, "flavor": {"original_name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1},
  "addresses": {"public": [{"version": 4, "addr": "198.51.100.7", "OS-EXT-IPS:type": "fixed"}]}}]}`)
	case r.Method == http.MethodPost && r.URL.Path == "/compute/v2.1/servers/s1/action":
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeOpenStack) fail(statuses ...int) {
	f.mu.Lock()
	f.failures = statuses
	f.requests = nil
	f.mu.Unlock()
}

func (f *fakeOpenStack) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// recordSleeps is a RetryPolicy.Sleep that records the waits instead of waiting.
type recordSleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recordSleeps) sleep(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return nil
}

func connectFake(t *testing.T, f *fakeOpenStack, sleeps *recordSleeps) *Cloud {
	t.Helper()
	t.Setenv("OS_CLOUD", "")
	t.Setenv("OS_AUTH_URL", f.URL+"/v3")
	t.Setenv("OS_USERNAME", "buttctl")
	t.Setenv("OS_PASSWORD", "secret")
	t.Setenv("OS_PROJECT_NAME", "buttctl")
	t.Setenv("OS_USER_DOMAIN_NAME", "Default")
	t.Setenv("OS_PROJECT_DOMAIN_NAME", "Default")
	t.Setenv("OS_REGION_NAME", "RegionOne")
	c, err := Connect(context.Background(), Config{Retry: RetryPolicy{Attempts: 4, Initial: time.Second, Max: 20 * time.Second, Sleep: sleeps.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func Test429HonoursRetryAfter(t *testing.T) {
	f := newFakeOpenStack(t)
	sleeps := &recordSleeps{}
	c := connectFake(t, f, sleeps)
	f.retryAt = "7"
	f.fail(http.StatusTooManyRequests, http.StatusTooManyRequests)
	list, err := c.HubServers(context.Background())
	if err != nil {
		t.Fatalf("list after two 429s: %v", err)
	}
	if len(list) != 1 || list[0].Hub != "hub-1" || list[0].Flavor != "m1.tiny" {
		t.Errorf("servers = %+v", list)
	}
	if got := fmt.Sprint(sleeps.waits); got != "[7s 7s]" {
		t.Errorf("waits = %s, want Retry-After's [7s 7s]", got)
	}
	if f.count() != 3 {
		t.Errorf("%d requests, want 3", f.count())
	}
}

func TestRetryAfterIsCappedAndDatesRead(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
	if d, ok := retryAfter(h, now); !ok || d != 90*time.Second {
		t.Errorf("HTTP-date Retry-After = %v %v, want 90s", d, ok)
	}
	f := newFakeOpenStack(t)
	sleeps := &recordSleeps{}
	c := connectFake(t, f, sleeps)
	f.retryAt = "3600"
	f.fail(http.StatusTooManyRequests)
	if _, err := c.HubServers(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sleeps.waits) != "[20s]" {
		t.Errorf("waits = %v, want the 20s cap", sleeps.waits)
	}
}

func TestServerErrorsRetriedWithBackoffThenExplained(t *testing.T) {
	f := newFakeOpenStack(t)
	sleeps := &recordSleeps{}
	c := connectFake(t, f, sleeps)
	f.fail(http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusInternalServerError, http.StatusServiceUnavailable)
	_, err := c.HubServers(context.Background())
	if err == nil {
		t.Fatal("four failures in a row with 4 attempts: want an error")
	}
	if Status(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "try again later") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error = %q", err)
	}
	if f.count() != 4 || len(sleeps.waits) != 3 {
		t.Fatalf("%d requests and %d waits, want 4 and 3", f.count(), len(sleeps.waits))
	}
	for i, w := range sleeps.waits {
		hi := time.Second << i
		if w > hi || w < hi*8/10 {
			t.Errorf("wait %d = %v, want about %v", i, w, hi)
		}
	}
}

// A 500 on a POST may have been carried out: it is not repeated. A 503 says
// it was not, and is.
func TestNonIdempotentRequestsRetriedOnlyWhenNotCarriedOut(t *testing.T) {
	f := newFakeOpenStack(t)
	sleeps := &recordSleeps{}
	c := connectFake(t, f, sleeps)
	f.fail(http.StatusInternalServerError)
	if err := c.Reboot(context.Background(), "s1", true); Status(err) != 500 || f.count() != 1 {
		t.Errorf("POST after a 500: err=%v, %d requests; want the 500 and 1 request", err, f.count())
	}
	f.fail(http.StatusServiceUnavailable)
	if err := c.Reboot(context.Background(), "s1", true); err != nil || f.count() != 2 {
		t.Errorf("POST after a 503: err=%v, %d requests; want success after 2", err, f.count())
	}
}
