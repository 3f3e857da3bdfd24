package watch

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/buttctl/buttctl/ops/engine"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	grace := 30 * time.Second
	cases := []struct {
		name        string
		o           observation
		consecutive int
		hasIdentity bool
		want        step
	}{
		{"running healthy", observation{Exists: true, State: "running", Health: "healthy"}, 0, false, step{Phase: PhaseRunning}},
		{"running without a check", observation{Exists: true, State: "running"}, 3, false, step{Phase: PhaseRunning}},
		{"starting", observation{Exists: true, State: "running", Health: "starting"}, 0, false, step{Phase: PhaseStarting}},
		{"unhealthy within the grace", observation{Exists: true, State: "running", Health: "unhealthy", UnhealthySince: now.Add(-10 * time.Second)}, 0, false,
			step{Phase: PhaseUnhealthy, Reason: ReasonUnhealthy, Recheck: 20 * time.Second}},
		{"unhealthy since unknown: the grace starts now", observation{Exists: true, State: "running", Health: "unhealthy"}, 0, false,
			step{Phase: PhaseUnhealthy, Reason: ReasonUnhealthy, Recheck: grace}},
		{"unhealthy past the grace", observation{Exists: true, State: "running", Health: "unhealthy", UnhealthySince: now.Add(-grace)}, 0, false,
			step{Phase: PhaseHealing, Action: ActionStart, Kill: true, Reason: ReasonUnhealthy}},
		{"unhealthy, third heal of a series", observation{Exists: true, State: "running", Health: "unhealthy", UnhealthySince: now.Add(-time.Hour)}, 2, false,
			step{Phase: PhaseHealing, Action: ActionRecreate, Kill: true, Reason: ReasonStillFailing}},
		{"exited", observation{Exists: true, State: "exited"}, 0, false, step{Phase: PhaseHealing, Action: ActionStart, Reason: ReasonExited}},
		{"exited, second heal", observation{Exists: true, State: "exited"}, 1, false, step{Phase: PhaseHealing, Action: ActionStart, Reason: ReasonExited}},
		{"exited, third heal", observation{Exists: true, State: "exited"}, 2, false, step{Phase: PhaseHealing, Action: ActionRecreate, Reason: ReasonStillFailing}},
		{"exited, fourth heal", observation{Exists: true, State: "exited"}, 3, false, step{Phase: PhaseHealing, Action: ActionStart, Reason: ReasonExited}},
		{"oom-killed", observation{Exists: true, State: "exited", OOMKilled: true}, 0, false, step{Phase: PhaseHealing, Action: ActionStart, Reason: ReasonOOM}},
		{"dead", observation{Exists: true, State: "dead"}, 0, false, step{Phase: PhaseHealing, Action: ActionRecreate, Reason: ReasonExited}},
		{"missing, volume kept", observation{VolumeExists: true}, 0, false, step{Phase: PhaseHealing, Action: ActionRecreate, Reason: ReasonMissing}},
		{"missing, third heal stays a recreate", observation{VolumeExists: true}, 2, false, step{Phase: PhaseHealing, Action: ActionRecreate, Reason: ReasonMissing}},
		{"volume lost, identity kept", observation{}, 0, true, step{Phase: PhaseHealing, Action: ActionRestore, Reason: ReasonVolumeLost}},
		{"operator stop", observation{Exists: true, State: "exited", OperatorStop: true}, 0, false, step{Phase: PhaseOperatorStopped}},
		{"paused", observation{Exists: true, State: "paused"}, 0, false, step{Phase: PhasePaused}},
		{"restarting by its policy", observation{Exists: true, State: "restarting"}, 0, false, step{Phase: PhaseRestarting}},
		{"removing", observation{Exists: true, State: "removing"}, 0, false, step{Phase: PhaseBusy, Reason: "removing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := decide(c.o, now, grace, c.consecutive, c.hasIdentity); got != c.want {
				t.Errorf("decide = %+v\nwant     %+v", got, c.want)
			}
		})
	}
	// What watch will not do alone says why, and what to do.
	if s := decide(observation{}, now, grace, 0, false); s.Phase != PhaseFailed || s.Action != "" || s.Reason != ReasonVolumeLost || s.Error == "" {
		t.Errorf("volume lost without an identity: %+v", s)
	}
	fresh := observation{Exists: true, State: "created", Container: engine.Container{Created: now.Add(-5 * time.Second)}}
	if s := decide(fresh, now, grace, 0, false); s.Phase != PhaseFailed || s.Action != "" || s.Reason != ReasonNeverStarted || s.Recheck != createdGrace-5*time.Second {
		t.Errorf("never started, created 5s ago: %+v", s)
	}
	// Its creator is gone: started.
	stale := observation{Exists: true, State: "created", Container: engine.Container{Created: now.Add(-createdGrace)}}
	if s := decide(stale, now, grace, 0, false); s.Phase != PhaseHealing || s.Action != ActionStart || s.Reason != ReasonNeverStarted {
		t.Errorf("never started, created %s ago: %+v", createdGrace, s)
	}
}

func TestUnhealthySinceNeverKillsEarly(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	probe := func(i, code int) *container.HealthcheckResult {
		start := t0.Add(time.Duration(i) * 10 * time.Second)
		return &container.HealthcheckResult{Start: start, End: start.Add(time.Second), ExitCode: code}
	}
	for _, c := range []struct {
		name    string
		log     []*container.HealthcheckResult
		retries int
		want    time.Time
	}{
		{"healthy", []*container.HealthcheckResult{probe(0, 0), probe(1, 0)}, 3, time.Time{}},
		{"turned unhealthy at the third failure", []*container.HealthcheckResult{probe(0, 0), probe(1, 1), probe(2, 1), probe(3, 1), probe(4, 1)}, 3, probe(3, 1).End},
		{"the log is shorter than the run", []*container.HealthcheckResult{probe(0, 1), probe(1, 1), probe(2, 1), probe(3, 1), probe(4, 1)}, 3, probe(2, 1).End},
		{"fewer failures than retries", []*container.HealthcheckResult{probe(0, 0), probe(1, 1)}, 3, probe(1, 1).End},
	} {
		if got := unhealthySince(c.log, c.retries); !got.Equal(c.want) {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestQueueHandsAKeyToOneWorkerAtATime(t *testing.T) {
	q := newQueue()
	ctx := context.Background()
	q.Add("a")
	q.Add("a")
	q.Add("b")
	k, _ := q.Get(ctx)
	if k != "a" {
		t.Fatalf("first key %q", k)
	}
	q.Add("a") // while a worker has it: handed out again once done
	k2, _ := q.TryGet()
	if k2 != "b" {
		t.Fatalf("second key %q; a is being worked on", k2)
	}
	if _, ok := q.TryGet(); ok {
		t.Fatal("a handed to a second worker while the first has it")
	}
	q.Done("a")
	if k, ok := q.TryGet(); !ok || k != "a" {
		t.Fatalf("a, added while worked on, not queued again after Done: %q %v", k, ok)
	}
	q.Done("a")
	q.Done("b")
	if !q.Idle() {
		t.Error("queue not idle")
	}

	// Deferred adds: the earliest wins; an add now replaces a deferral.
	q.AddAfter("c", time.Hour)
	q.AddAfter("c", time.Minute)
	if at, ok := q.Due("c"); !ok || time.Until(at) > time.Minute {
		t.Errorf("c due at %v (%v); want within a minute", at, ok)
	}
	q.AddAfter("c", 2*time.Hour)
	if at, _ := q.Due("c"); time.Until(at) > time.Minute {
		t.Errorf("a later deferral replaced an earlier one: %v", at)
	}
	q.AddAfter("d", 10*time.Millisecond)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if k, ok := q.Get(wctx); !ok || k != "d" {
		t.Fatalf("deferred d: %q %v", k, ok)
	}
	q.Done("d")
	q.Add("c")
	if _, ok := q.Due("c"); ok {
		t.Error("c still deferred after an add now")
	}
	q.Stop()
	q.Add("e")
	if k, ok := q.TryGet(); ok && k == "e" {
		t.Error("add after Stop was queued")
	}
}
