package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/watch"
)

// checkpoint stops new faults, lets those in flight end, and gives the
// fleet Recover to pass every check.
func (d *driver) checkpoint(ctx context.Context, final bool) {
	d.inflight.Wait()
	c := Checkpoint{At: time.Now(), Final: final}
	d.opts.Logf("chaos: checkpoint (final: %v)", final)
	err := d.waitConverged(ctx, c.At, d.opts.Recover)
	if err == nil {
		c.Passed, c.ConvergedS = true, time.Since(c.At).Seconds()
		d.opts.Logf("chaos: checkpoint passed in %.1fs", c.ConvergedS)
	} else {
		c.Problems = strings.Split(err.Error(), "\n")
		d.opts.Logf("chaos: checkpoint FAILED:\n  %s", strings.Join(c.Problems, "\n  "))
	}
	d.checkpoints = append(d.checkpoints, c)
}

// waitConverged runs check until it passes or within is over, and returns
// the problems of its last run.
func (d *driver) waitConverged(ctx context.Context, since time.Time, within time.Duration) error {
	deadline := time.Now().Add(within)
	lastLog := time.Now()
	for {
		problems := d.check(ctx, since)
		if len(problems) == 0 {
			return nil
		}
		if time.Since(lastLog) >= 15*time.Second {
			d.opts.Logf("chaos: waiting for the fleet: %s", strings.Join(problems, "; "))
			lastLog = time.Now()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s", strings.Join(problems, "\n"))
		}
		pause(ctx, time.Second)
	}
}

// check returns what is wrong with the fleet now: a pub wanted running that
// is not running healthy on its hub, one running twice or under another
// identity, a hub that does not answer, a data volume gone, the inventory
// broken or missing a comment.
func (d *driver) check(ctx context.Context, since time.Time) []string {
	var problems []string
	text, err := os.ReadFile(d.invPath)
	if err != nil {
		return []string{err.Error()}
	}
	inv, err := inventory.Parse(d.invPath, text)
	if err != nil {
		return []string{"the inventory does not load: " + err.Error()}
	}
	for _, c := range d.comments {
		if !strings.Contains(string(text), c) {
			problems = append(problems, fmt.Sprintf("the inventory lost its comment %q", c))
		}
	}
	for name, h := range d.hubs {
		if err := h.SSHUp(ctx); err != nil {
			problems = append(problems, name+" does not answer over SSH: "+err.Error())
		}
	}
	s, err := d.obs.next(ctx, since)
	if err != nil {
		return append(problems, err.Error())
	}
	for _, p := range d.pubs {
		if problem := s.pubProblem(inv, p); problem != "" {
			problems = append(problems, problem)
		}
	}
	if len(problems) > 0 {
		return problems
	}

	// Every running copy answers whoami with the identity its pub started
	// with, and no identity answers twice.
	seen := map[string]string{}
	for _, c := range s.Copies {
		if !c.Running {
			continue
		}
		id, err := d.whoami(ctx, c.Hub, c.Pub)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if want := d.identities[c.Pub]; want != "" && id != want {
			problems = append(problems, fmt.Sprintf("IDENTITY CHANGED: %s on %s answers %s; it was %s", c.Pub, c.Hub, id, d.identities[c.Pub]))
		}
		if other, ok := seen[id]; ok {
			problems = append(problems, fmt.Sprintf("IDENTITY TWICE: %s runs on %s and on %s", id, other, c.Hub))
		}
		seen[id] = c.Pub + " on " + c.Hub
	}

	// No data volume ever seen is gone; each pub has its volume on its hub.
	now := map[string]bool{}
	for hub := range d.hubs {
		vols, err := d.volumesOn(ctx, hub)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, v := range vols {
			now[hub+"/"+v] = true
		}
	}
	for v := range d.volumes {
		if !now[v] {
			problems = append(problems, "DATA VOLUME LOST: "+v)
		}
	}
	for _, p := range inv.Pubs {
		if v := p.Hub + "/" + pubspec.VolumeName(p.Name); !now[v] {
			problems = append(problems, "no data volume "+v)
		}
	}
	if len(problems) == 0 {
		for v := range now {
			d.volumes[v] = true
		}
	}
	sort.Strings(problems)
	return problems
}

// healActions are the audit log's actions that restart a pub.
var healActions = map[string]bool{watch.ActionKill: true, watch.ActionStart: true, watch.ActionRecreate: true, watch.ActionRestore: true}

// audit counts the audit log's actions into rep and checks that no pub was
// healed more often than the restart policy allows: a heal that is attempt
// n > 1 of its series comes at least backoff(n-1) after the one before
// (jitter only lengthens waits), and no more than AllowedRestartsInWindow
// heals fall within crash_loop.window.
func (d *driver) audit(rep *Report) {
	recs, err := audit.ReadFile(filepath.Join(d.opts.Dir, "audit.jsonl"))
	if err != nil {
		rep.Failures = append(rep.Failures, "reading the audit log: "+err.Error())
		return
	}
	rep.Actions = map[string]int{}
	for _, r := range recs {
		rep.Actions[r.Source+"/"+r.Action+"/"+r.Result]++
	}
	p := d.policy
	// Each reset (healthy for reset_after) allows a new series of Restarts
	// heals; a crash loop one heal per Max.
	rep.AllowedRestartsInWindow = (int(p.Window/p.ResetAfter)+1)*p.Restarts + int(p.Window/p.Max) + 1
	type heal struct {
		at      time.Time
		attempt int
	}
	heals := map[string][]heal{}
	for _, r := range recs {
		if r.Source != audit.SourceWatch || !healActions[r.Action] || r.Result == watch.ResultSkipped || r.Result == watch.ResultDryRun {
			continue
		}
		hs := heals[r.Pub]
		// A kill and the start that follows it are one heal.
		if n := len(hs); n > 0 && r.Action != watch.ActionKill && hs[n-1].attempt == r.Attempt && r.Time.Sub(hs[n-1].at) < time.Minute && d.lastWasKill(recs, r) {
			continue
		}
		heals[r.Pub] = append(hs, heal{r.Time, r.Attempt})
	}
	for pub, hs := range heals {
		sort.Slice(hs, func(i, j int) bool { return hs[i].at.Before(hs[j].at) })
		for i := 1; i < len(hs); i++ {
			if hs[i].attempt < 2 {
				continue
			}
			want := backoff(p, hs[i].attempt-1)
			if gap := hs[i].at.Sub(hs[i-1].at); gap < want-100*time.Millisecond {
				rep.Failures = append(rep.Failures, fmt.Sprintf("%s: heal attempt %d at %s came %s after the one before; the backoff asks for %s",
					pub, hs[i].attempt, hs[i].at.Format(time.TimeOnly), gap.Round(time.Millisecond), want))
			}
		}
		for i := range hs {
			n := 0
			for j := i; j < len(hs) && hs[j].at.Sub(hs[i].at) < p.Window; j++ {
				n++
			}
			if n > rep.MaxRestartsInWindow {
				rep.MaxRestartsInWindow, rep.MaxRestartsPub = n, pub
			}
		}
	}
	if rep.MaxRestartsInWindow > rep.AllowedRestartsInWindow {
		rep.Failures = append(rep.Failures, fmt.Sprintf("%s was healed %d times within %s; the policy allows %d",
			rep.MaxRestartsPub, rep.MaxRestartsInWindow, p.Window, rep.AllowedRestartsInWindow))
	}
}

// lastWasKill reports whether the watch record before r of r's pub is a kill.
func (d *driver) lastWasKill(recs []audit.Record, r audit.Record) bool {
	var last *audit.Record
	for i := range recs {
		if recs[i].Source == audit.SourceWatch && recs[i].Pub == r.Pub && healActions[recs[i].Action] && recs[i].Time.Before(r.Time) {
			last = &recs[i]
		}
	}
	return last != nil && last.Action == watch.ActionKill
}

// backoff is the wait the policy asks for after the n-th heal of a series,
// before jitter.
func backoff(p watch.Policy, n int) time.Duration {
	w := p.Initial
	for i := 1; i < n && w < p.Max; i++ {
		w *= 2
	}
	return min(w, p.Max)
}
