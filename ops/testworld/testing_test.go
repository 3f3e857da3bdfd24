package testworld_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/ops/testworld"
)

// TestForTestSharesOneWorld checks both ways ForTest shares a world: one
// per test process when BUTTCTL_TEST_WORLD is unset, and the world it names
// when set; and that a shared world refuses to be broken.
func TestForTestSharesOneWorld(t *testing.T) {
	ctx := context.Background()
	t.Run("one world per test process", func(t *testing.T) {
		t.Setenv(testworld.EnvWorld, "")
		w1 := testworld.ForTest(t, 1)
		w2 := testworld.ForTest(t, 1)
		if w1 != w2 {
			t.Fatalf("two worlds (%s, %s) for one process", w1.ID, w2.ID)
		}
		if err := w1.Hubs[0].SSHUp(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w1.Hubs[0].CutNetwork(ctx); err == nil || !strings.Contains(err.Error(), "Private") {
			t.Fatalf("network cut on a shared world: %v", err)
		}
	})
	t.Run("the world of BUTTCTL_TEST_WORLD", func(t *testing.T) {
		own := testworld.Private(t, 1)
		t.Setenv(testworld.EnvWorld, filepath.Join(own.Dir, "state.json"))
		w := testworld.ForTest(t, 1)
		if w.ID != own.ID {
			t.Fatalf("ForTest gave world %s, want %s from %s", w.ID, own.ID, testworld.EnvWorld)
		}
		if err := w.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := own.Hubs[0].SSHUp(ctx); err != nil {
			t.Fatalf("a user of a shared world stopped it: %v", err)
		}
	})
}

// BenchmarkWorldStart measures starting and stopping a 3-hub world with the
// images already built (make bench runs it once).
func BenchmarkWorldStart(b *testing.B) {
	ctx := context.Background()
	warm, err := testworld.Start(ctx, testworld.Options{Hubs: 1}) // builds the images if needed
	if err != nil {
		b.Fatal(err)
	}
	if err := warm.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	var up, down time.Duration
	for b.Loop() {
		t0 := time.Now()
		w, err := testworld.Start(ctx, testworld.Options{Hubs: 3})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := w.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		up, down = up+t1.Sub(t0), down+time.Since(t1)
	}
	b.ReportMetric(up.Seconds()/float64(b.N), "s-start/3hubs")
	b.ReportMetric(down.Seconds()/float64(b.N), "s-stop/3hubs")
}
