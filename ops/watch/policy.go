package watch

import (
	"time"

	"github.com/buttctl/buttctl/inventory"
)

// Policy is the restart policy of every pub: how heals of one pub are spaced
// and when they stop being tried at once.
type Policy struct {
	// Initial is the wait before the second of a series of heals (the first
	// is at once); each next wait doubles, up to Max.
	Initial, Max time.Duration
	// ResetAfter: a pub healthy this long forgets its series (and leaves a
	// crash loop).
	ResetAfter time.Duration
	// Restarts in Window: reaching that many makes a pub crash-looping: it
	// is quarantined and retried only every Max.
	Restarts int
	Window   time.Duration
	// Jitter stretches each wait by a random fraction in [0, Jitter), so
	// that pubs that failed together do not retry together.
	Jitter float64
}

// DefaultJitter is the jitter of a policy built from an inventory.
const DefaultJitter = 0.2

// PolicyOf is the restart policy an inventory's watch section describes.
func PolicyOf(w inventory.Watch) Policy {
	return Policy{
		Initial:    w.Backoff.Initial.D(),
		Max:        w.Backoff.Max.D(),
		ResetAfter: w.Backoff.ResetAfter.D(),
		Restarts:   w.CrashLoop.Restarts,
		Window:     w.CrashLoop.Window.D(),
		Jitter:     DefaultJitter,
	}
}

// Tracker is one pub's restart state machine, after Nomad's restart
// tracker: it counts the restarts of the pub (watch's heals and its
// engine's own restarts alike) and says when the next heal may run.
//
//	healthy ──failure──▶ heal at once ──failure──▶ backoff (Initial, 2×, … Max)
//	   ▲                                                 │ Restarts within Window
//	   └──── healthy for ResetAfter ◀── crash loop: quarantined, retried every Max
//
// It keeps no clock of its own: every method takes the time, so tests
// drive it with a fake one. It is not safe for concurrent use.
type Tracker struct {
	policy Policy
	rand   func() float64

	attempts     []time.Time // restarts within the window, oldest first
	consecutive  int         // restarts since the last reset
	last         time.Time   // the last restart
	wait         time.Duration
	crashLoop    bool
	healthySince time.Time // zero when not known to be healthy
}

// NewTracker returns the tracker of one pub under p; rand returns numbers
// in [0, 1) for the jitter (nil: no jitter).
func NewTracker(p Policy, rand func() float64) *Tracker {
	if rand == nil {
		rand = func() float64 { return 0 }
	}
	return &Tracker{policy: p, rand: rand}
}

// Decision says whether a heal may run now.
type Decision struct {
	// At is when the next heal may run; Wait is At less now (0: now).
	At   time.Time
	Wait time.Duration
	// CrashLoop says the pub is crash-looping: quarantined, retried every Max.
	CrashLoop bool
	// Attempt numbers the heal that would run next in the current series (1: the first).
	Attempt int
	// Reason says why a heal must wait (ReasonBackoff, ReasonCrashLoop), "" when it need not.
	Reason string
}

// Next says when the next heal may run, seen at now.
func (t *Tracker) Next(now time.Time) Decision {
	t.expire(now)
	d := Decision{Attempt: t.consecutive + 1, CrashLoop: t.crashLoop}
	if !t.crashLoop && t.policy.Restarts > 0 && len(t.attempts) >= t.policy.Restarts {
		// One more restart would make more than Restarts in the window.
		t.crashLoop = true
		d.CrashLoop = true
		t.wait = t.stretch(t.policy.Max)
	}
	if t.consecutive == 0 {
		d.At = now
		return d
	}
	d.At = t.last.Add(t.wait)
	if d.At.After(now) {
		d.Wait = d.At.Sub(now)
		d.Reason = ReasonBackoff
		if t.crashLoop {
			d.Reason = ReasonCrashLoop
		}
	} else {
		d.At = now
	}
	return d
}

// Restarted records a restart of the pub at now: a heal by watch, or one
// its engine made on its own.
func (t *Tracker) Restarted(now time.Time) {
	t.expire(now)
	t.healthySince = time.Time{}
	t.attempts = append(t.attempts, now)
	t.consecutive++
	t.last = now
	if t.crashLoop {
		t.wait = t.stretch(t.policy.Max)
		return
	}
	t.wait = t.stretch(t.backoff(t.consecutive))
}

// backoff is the wait after the n-th restart of a series, before jitter.
func (t *Tracker) backoff(n int) time.Duration {
	d := t.policy.Initial
	for i := 1; i < n && d < t.policy.Max; i++ {
		d *= 2
	}
	return min(d, t.policy.Max)
}

func (t *Tracker) stretch(d time.Duration) time.Duration {
	if t.policy.Jitter <= 0 {
		return d
	}
	return d + time.Duration(float64(d)*t.policy.Jitter*t.rand())
}

// Healthy records that the pub was seen healthy (running, and passing its
// health check if it has one) at now; it stays so until NotHealthy.
func (t *Tracker) Healthy(now time.Time) {
	if t.healthySince.IsZero() {
		t.healthySince = now
	}
	t.expire(now)
}

// NotHealthy records that the pub stopped being healthy at now (it died,
// turned unhealthy, or is starting again). A stretch of health long enough
// to reset the series is honoured first.
func (t *Tracker) NotHealthy(now time.Time) {
	t.expire(now)
	t.healthySince = time.Time{}
}

// expire resets the series when the pub has been healthy for ResetAfter,
// and forgets restarts older than the window.
func (t *Tracker) expire(now time.Time) {
	if !t.healthySince.IsZero() && t.policy.ResetAfter > 0 && now.Sub(t.healthySince) >= t.policy.ResetAfter {
		t.attempts, t.consecutive, t.wait, t.crashLoop = nil, 0, 0, false
	}
	// A crash loop ends only with health, not with time: the count of
	// restarts in the window no longer matters once in one.
	cut := 0
	for cut < len(t.attempts) && now.Sub(t.attempts[cut]) >= t.policy.Window {
		cut++
	}
	t.attempts = t.attempts[cut:]
}

// CrashLooping reports whether the pub is in a crash loop at now.
func (t *Tracker) CrashLooping(now time.Time) bool {
	t.expire(now)
	return t.crashLoop
}

// RestartsInWindow counts the restarts within the window at now.
func (t *Tracker) RestartsInWindow(now time.Time) int {
	t.expire(now)
	return len(t.attempts)
}

// Consecutive counts the restarts since the series last reset.
func (t *Tracker) Consecutive(now time.Time) int {
	t.expire(now)
	return t.consecutive
}
