// Package fleettest helps tests that run pubs on Docker engines other tests
// share: a random prefix for a test's pub names, removal of exactly the
// containers and volumes whose pub carries it (by buttctl's labels, by id),
// free TCP ports, and polling a condition with a deadline.
package fleettest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/engine"
)

// Prefix returns short followed by six random hex digits: name every pub of
// a test prefix-NAME, so that its cleanup and its plans (fleet.PlanOptions
// Select) touch only its own.
func Prefix(short string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return short + hex.EncodeToString(b)
}

// RemoveAtCleanup removes, when the test ends, every buttctl-managed
// container and volume on the engine behind api whose pub starts with
// prefix+"-".
func RemoveAtCleanup(t testing.TB, api *client.Client, prefix string) {
	t.Helper()
	t.Cleanup(func() { Remove(api, prefix) })
}

// Remove removes every buttctl-managed container and volume on the engine
// behind api whose pub starts with prefix+"-", found by label, by id; the
// containers with their anonymous volumes (a test's container made without
// the data volume has one).
func Remove(api *client.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	managed := client.Filters{}.Add("label", engine.LabelManaged+"=true")
	if res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: managed}); err == nil {
		for _, c := range res.Items {
			if strings.HasPrefix(c.Labels[engine.LabelPub], prefix+"-") {
				_, _ = api.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			}
		}
	}
	if res, err := api.VolumeList(ctx, client.VolumeListOptions{Filters: managed}); err == nil {
		for _, v := range res.Items {
			if strings.HasPrefix(v.Labels[engine.LabelPub], prefix+"-") {
				_, _ = api.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
			}
		}
	}
}

// FreePorts returns n distinct TCP ports nothing listens on right now.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	out := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out
}

// WaitFor polls cond, more slowly as time goes, until it holds; the test
// fails if it does not within timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for delay := 10 * time.Millisecond; !cond(); delay = min(2*delay, 500*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(delay)
	}
}
