package sshexec_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/buttctl/buttctl/sshexec"
)

// newPool returns a pool that uses no agent and no default identities, so
// that tests depend only on what they set up; it is closed at cleanup.
func newPool(t *testing.T, opts sshexec.PoolOptions) *sshexec.Pool {
	t.Helper()
	if opts.AgentSocket == "" {
		opts.AgentSocket = sshexec.AgentNone
	}
	opts.NoDefaultIdentities = true
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 10 * time.Second
	}
	p := sshexec.NewPool(opts)
	t.Cleanup(func() { p.Close() })
	return p
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
