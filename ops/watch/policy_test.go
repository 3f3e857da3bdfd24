package watch

import (
	"math/rand/v2"
	"testing"
	"time"
)

// clock is a fake clock for the state machine: tests move it by hand.
type clock struct{ t time.Time }

func newClock() *clock                   { return &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)} }
func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func (c *clock) advanceTo(at time.Time)  { c.t = at }
func testPolicy() Policy {
	return Policy{Initial: time.Second, Max: time.Minute, ResetAfter: 10 * time.Minute, Restarts: 5, Window: 10 * time.Minute}
}
func noJitter() func() float64             { return nil }
func fixedJitter(f float64) func() float64 { return func() float64 { return f } }

func TestFirstHealIsAtOnceThenTheWaitDoublesUpToMax(t *testing.T) {
	c := newClock()
	p := testPolicy()
	p.Restarts = 100 // no crash loop in this test
	tr := NewTracker(p, noJitter())
	if d := tr.Next(c.now()); d.Wait != 0 || d.Attempt != 1 || d.CrashLoop || d.Reason != "" {
		t.Fatalf("first heal: %+v; want at once", d)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	for i, w := range want {
		tr.Restarted(c.now())
		d := tr.Next(c.now())
		if d.Wait != w || d.Reason != ReasonBackoff || d.Attempt != i+2 {
			t.Fatalf("after restart %d: %+v; want a wait of %s", i+1, d, w)
		}
		c.advance(w / 2)
		if d := tr.Next(c.now()); d.Wait != w-w/2 {
			t.Fatalf("halfway through the wait of %s: %+v", w, d)
		}
		c.advance(w - w/2)
		if d := tr.Next(c.now()); d.Wait != 0 || !d.At.Equal(c.now()) || d.Reason != "" {
			t.Fatalf("at the end of the wait of %s: %+v", w, d)
		}
	}
}

func TestJitterStretchesEachWaitByLessThanItsFraction(t *testing.T) {
	c := newClock()
	p := testPolicy()
	p.Jitter = 0.2
	tr := NewTracker(p, fixedJitter(0.5))
	tr.Restarted(c.now())
	if d := tr.Next(c.now()); d.Wait != 1100*time.Millisecond {
		t.Errorf("wait with jitter 0.2 × 0.5 = %s; want 1.1s", d.Wait)
	}
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[time.Duration]bool{}
	for range 50 {
		tr = NewTracker(p, r.Float64)
		tr.Restarted(c.now())
		w := tr.Next(c.now()).Wait
		if w < time.Second || w >= 1200*time.Millisecond {
			t.Fatalf("jittered wait %s outside [1s, 1.2s)", w)
		}
		seen[w] = true
	}
	if len(seen) < 10 {
		t.Errorf("50 jittered waits took only %d values", len(seen))
	}
}

func TestHealthyForResetAfterForgetsTheSeries(t *testing.T) {
	c := newClock()
	tr := NewTracker(testPolicy(), noJitter())
	for range 3 {
		tr.Restarted(c.now())
		c.advance(tr.Next(c.now()).Wait)
	}
	if n := tr.Consecutive(c.now()); n != 3 {
		t.Fatalf("consecutive = %d", n)
	}
	// Healthy, but not long enough: the series goes on.
	tr.Healthy(c.now())
	c.advance(10*time.Minute - time.Second)
	tr.NotHealthy(c.now())
	if d := tr.Next(c.now()); d.Attempt != 4 {
		t.Fatalf("after 9m59s of health: %+v; want the 4th heal of the series", d)
	}
	tr.Restarted(c.now())
	tr.Healthy(c.now())
	c.advance(10 * time.Minute)
	tr.NotHealthy(c.now())
	if d := tr.Next(c.now()); d.Wait != 0 || d.Attempt != 1 || tr.RestartsInWindow(c.now()) != 0 {
		t.Fatalf("after 10m of health: %+v (%d in window); want a fresh series", d, tr.RestartsInWindow(c.now()))
	}
}

func TestRestartsOutsideTheWindowAreForgotten(t *testing.T) {
	c := newClock()
	p := testPolicy()
	p.Restarts = 3
	p.Window = time.Minute
	tr := NewTracker(p, noJitter())
	for range 10 {
		tr.Restarted(c.now())
		c.advance(31 * time.Second)
		if tr.CrashLooping(c.now()) || tr.Next(c.now()).CrashLoop {
			t.Fatalf("crash loop with restarts 31s apart and a window of 1m holding %d", tr.RestartsInWindow(c.now()))
		}
	}
	if n := tr.RestartsInWindow(c.now()); n != 1 {
		t.Errorf("restarts in the window = %d; want 1", n)
	}
}

func TestCrashLoopQuarantinesAndRetriesAtTheCapUntilHealthy(t *testing.T) {
	c := newClock()
	p := testPolicy() // 5 restarts in 10m
	tr := NewTracker(p, noJitter())
	for i := range 5 {
		d := tr.Next(c.now())
		if d.CrashLoop {
			t.Fatalf("crash loop before restart %d", i+1)
		}
		c.advance(d.Wait)
		tr.Restarted(c.now())
	}
	d := tr.Next(c.now())
	if !d.CrashLoop || d.Reason != ReasonCrashLoop || d.Wait != time.Minute {
		t.Fatalf("after 5 restarts in the window: %+v; want a crash loop retried after max (1m)", d)
	}
	// Retries come every max, however long it goes on, window or not.
	for range 30 {
		c.advance(d.Wait)
		if d = tr.Next(c.now()); d.Wait != 0 || !d.CrashLoop {
			t.Fatalf("at the retry: %+v", d)
		}
		tr.Restarted(c.now())
		if d = tr.Next(c.now()); d.Wait != time.Minute || !d.CrashLoop {
			t.Fatalf("after a retry: %+v; want the next in 1m", d)
		}
	}
	// Health shorter than reset_after keeps it in the loop.
	tr.Healthy(c.now())
	c.advance(5 * time.Minute)
	tr.NotHealthy(c.now())
	if !tr.CrashLooping(c.now()) {
		t.Fatal("left the crash loop after 5m of health; reset_after is 10m")
	}
	tr.Restarted(c.now())
	tr.Healthy(c.now())
	c.advance(10 * time.Minute)
	if tr.CrashLooping(c.now()) {
		t.Fatal("still crash-looping after 10m of health")
	}
	if d := tr.Next(c.now()); d.Wait != 0 || d.CrashLoop || d.Attempt != 1 {
		t.Errorf("after leaving the crash loop: %+v", d)
	}
}

// A pub that dies right after every heal, for a day of fake time: the
// number of heals stays bounded by the policy (Restarts at first, then one
// per Max), whatever the jitter.
func TestNeverAnActionStorm(t *testing.T) {
	c := newClock()
	p := Policy{Initial: time.Second, Max: 5 * time.Minute, ResetAfter: 10 * time.Minute, Restarts: 5, Window: 10 * time.Minute, Jitter: 0.2}
	tr := NewTracker(p, rand.New(rand.NewPCG(3, 4)).Float64)
	end := c.now().Add(24 * time.Hour)
	heals := 0
	var times []time.Time
	for c.now().Before(end) {
		d := tr.Next(c.now())
		c.advanceTo(d.At)
		tr.Restarted(c.now())
		heals++
		times = append(times, c.now())
		c.advance(time.Second) // dies again a second later
		tr.NotHealthy(c.now())
	}
	if max := 5 + int(24*time.Hour/(5*time.Minute)) + 1; heals > max {
		t.Errorf("%d heals in a day; the policy allows at most %d", heals, max)
	}
	for i := range times {
		j := i
		for j < len(times) && times[j].Sub(times[i]) < p.Window {
			j++
		}
		if j-i > p.Restarts+1 {
			t.Fatalf("%d heals within %s from %s", j-i, p.Window, times[i])
		}
	}
}
