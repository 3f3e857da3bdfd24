package watch_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/ops/watch"
)

// benchSamples is how many heals each method is timed over.
const benchSamples = 7

// pollEvery is the polling healer's period: docker-autoheal's default
// (AUTOHEAL_INTERVAL=5).
const pollEvery = 5 * time.Second

// containerEvents follows one container's die, start and health events on
// the local engine, as the engine timestamps them.
type containerEvents struct {
	mu     sync.Mutex
	events []engine.Event
	seen   chan struct{}
	stop   context.CancelFunc
}

func followContainer(b *testing.B, api *client.Client, name string) *containerEvents {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ce := &containerEvents{seen: make(chan struct{}, 1), stop: cancel}
	f := client.Filters{}.Add("type", "container").Add("container", name)
	res := api.Events(ctx, client.EventsListOptions{Filters: f})
	go func() {
		for {
			select {
			case m := <-res.Messages:
				ce.add(m)
			case <-res.Err:
				return
			}
		}
	}()
	b.Cleanup(cancel)
	return ce
}

func (ce *containerEvents) add(m events.Message) {
	ev := engine.Event{Action: string(m.Action), Time: time.Unix(0, m.TimeNano)}
	if s, ok := strings.CutPrefix(ev.Action, "health_status: "); ok {
		ev.Action, ev.Health = engine.EventHealth, s
	}
	ce.mu.Lock()
	ce.events = append(ce.events, ev)
	ce.mu.Unlock()
	select {
	case ce.seen <- struct{}{}:
	default:
	}
}

// next waits for the first event after t matching ok.
func (ce *containerEvents) next(b *testing.B, after time.Time, what string, ok func(engine.Event) bool) engine.Event {
	b.Helper()
	deadline := time.After(60 * time.Second)
	for {
		ce.mu.Lock()
		for _, ev := range ce.events {
			if ev.Time.After(after) && ok(ev) {
				ce.mu.Unlock()
				return ev
			}
		}
		ce.mu.Unlock()
		select {
		case <-ce.seen:
		case <-deadline:
			b.Fatalf("no %s event within 60s", what)
		}
	}
}

func isAction(a string) func(engine.Event) bool {
	return func(ev engine.Event) bool { return ev.Action == a }
}

func isHealth(h string) func(engine.Event) bool {
	return func(ev engine.Event) bool { return ev.Action == engine.EventHealth && ev.Health == h }
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pollingHealer is the comparator: what docker-autoheal does by default —
// every 5s, list the containers and restart the unhealthy ones (and, here,
// start the exited ones too). Its first poll is at first.
func pollingHealer(ctx context.Context, api *client.Client, name string, first time.Time) {
	timer := time.NewTimer(time.Until(first))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		timer.Reset(pollEvery)
		res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("name", name)})
		if err != nil {
			continue
		}
		for _, c := range res.Items {
			switch {
			case c.State == "exited" || c.State == "dead":
				_, _ = api.ContainerStart(ctx, c.ID, client.ContainerStartOptions{})
			case strings.Contains(c.Status, "(unhealthy)"):
				timeout := 10
				_, _ = api.ContainerRestart(ctx, c.ID, client.ContainerRestartOptions{Timeout: &timeout})
			}
		}
	}
}

// benchFleet is one pub of the stand-in image on the local hub, healthy,
// under a policy that times each heal as the first of its series: the
// series resets after 1s of health (the samples are paced further apart),
// and no crash loop is called.
func benchFleet(b *testing.B) (*fleet, string) {
	b.Helper()
	name := uniq("wb")
	f := localFleet(b, name)
	edit(b, f, "reset_after: 1m", "reset_after: 1s")
	edit(b, f, "restarts: 3,", "restarts: 1000,")
	f.create()
	return f, name
}

// pace waits long enough after a heal that the next one starts a new series.
func pace() { sleepUntil(time.Now().Add(1500 * time.Millisecond)) }

// phase is the i-th of benchSamples phases spread evenly over the poller's
// period (stratified, so that few samples give a fair mean).
func phase(i int) time.Duration {
	return time.Duration((float64(i) + 0.5) / benchSamples * float64(pollEvery))
}

// BenchmarkKillToRunning times SIGKILL → running again (die event to start
// event, on the engine's clock) for: the floor (a bare `docker start` of the
// killed container, issued the moment it died), watch, and a 5s polling
// healer, all on this machine's engine in the same run.
func BenchmarkKillToRunning(b *testing.B) {
	f, name := benchFleet(b)
	api := f.clients["local"]
	ce := followContainer(b, api, pubspec.ContainerName(name))
	ctx := context.Background()
	killed := func() engine.Event {
		before := time.Now().Add(-time.Millisecond)
		f.kill(name)
		return ce.next(b, before, "die", isAction(engine.EventDie))
	}
	running := func(after engine.Event) time.Duration {
		start := ce.next(b, after.Time, "start", isAction(engine.EventStart))
		f.waitHealth(name, "healthy")
		return start.Time.Sub(after.Time)
	}

	var floor, watched, polled []time.Duration
	for range b.N {
		floor, watched, polled = nil, nil, nil
		for range benchSamples {
			pace()
			die := killed()
			if _, err := api.ContainerStart(ctx, pubspec.ContainerName(name), client.ContainerStartOptions{}); err != nil {
				b.Fatal(err)
			}
			floor = append(floor, running(die))
		}
		r := f.start(watch.Config{})
		r.waitPhase(b, 30*time.Second, name, watch.PhaseRunning)
		for range benchSamples {
			pace()
			die := killed()
			watched = append(watched, running(die))
			r.waitPhase(b, 30*time.Second, name, watch.PhaseRunning)
		}
		r.stop(b)
		polled = pollingSamples(ctx, api, pubspec.ContainerName(name), killed, running)
	}
	report(b, floor, watched, polled)
}

// BenchmarkUnhealthyToRunning times the health event "unhealthy" → running
// again for: the floor (kill + start of the same container, issued the
// moment the event came), watch (unhealthy_grace 1ms: at once), and a 5s
// polling healer.
func BenchmarkUnhealthyToRunning(b *testing.B) {
	f, name := benchFleet(b)
	edit(b, f, "unhealthy_grace: 2s", "unhealthy_grace: 1ms")
	api := f.clients["local"]
	ce := followContainer(b, api, pubspec.ContainerName(name))
	ctx := context.Background()
	cname := pubspec.ContainerName(name)
	sick := func() engine.Event {
		before := time.Now().Add(-time.Millisecond)
		f.exec(name, "sbot", "fault", "unhealthy")
		return ce.next(b, before, "unhealthy", isHealth("unhealthy"))
	}
	running := func(after engine.Event) time.Duration {
		start := ce.next(b, after.Time, "start", isAction(engine.EventStart))
		d := start.Time.Sub(after.Time)
		// The fault file lives in the data volume: clear it once running.
		waitFor(b, 30*time.Second, name+" running", func() bool {
			state, _, _, _ := f.container(name)
			return state == "running"
		})
		f.exec(name, "sbot", "fault", "clear")
		f.waitHealth(name, "healthy")
		return d
	}

	var floor, watched, polled []time.Duration
	for range b.N {
		floor, watched, polled = nil, nil, nil
		for range benchSamples {
			pace()
			ev := sick()
			if _, err := api.ContainerKill(ctx, cname, client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil {
				b.Fatal(err)
			}
			if _, err := api.ContainerStart(ctx, cname, client.ContainerStartOptions{}); err != nil {
				b.Fatal(err)
			}
			floor = append(floor, running(ev))
		}
		r := f.start(watch.Config{})
		r.waitPhase(b, 30*time.Second, name, watch.PhaseRunning)
		for range benchSamples {
			pace()
			ev := sick()
			watched = append(watched, running(ev))
			r.waitPhase(b, 30*time.Second, name, watch.PhaseRunning)
		}
		r.stop(b)
		for _, rec := range r.records(b) {
			b.Logf("%s %s took %dms", rec.Time.Format("15:04:05.000"), rec.Action, rec.DurationMS)
		}
		polled = pollingSamples(ctx, api, cname, sick, running)
	}
	report(b, floor, watched, polled)
}

// pollingSamples times the polling healer: for each sample, fault makes
// the failure and returns its event, and a poller whose phase relative to
// that event is the sample's (spread evenly over the period: a poller
// running all along meets failures at a uniformly random phase) heals it;
// running times the event to running again.
func pollingSamples(ctx context.Context, api *client.Client, cname string, fault func() engine.Event, running func(engine.Event) time.Duration) []time.Duration {
	var out []time.Duration
	for i := range benchSamples {
		pace()
		ev := fault()
		pctx, stop := context.WithCancel(ctx)
		go pollingHealer(pctx, api, cname, ev.Time.Add(phase(i)))
		out = append(out, running(ev))
		stop()
	}
	return out
}

// edit replaces old with new in the fleet's inventory.
func edit(b *testing.B, f *fleet, old, new string) {
	b.Helper()
	text, err := os.ReadFile(f.path)
	if err != nil {
		b.Fatal(err)
	}
	out := strings.Replace(string(text), old, new, 1)
	if out == string(text) {
		b.Fatalf("the inventory has no %q", old)
	}
	if err := os.WriteFile(f.path, []byte(out), 0o644); err != nil {
		b.Fatal(err)
	}
	f.reload()
}

// report logs the samples and reports medians and the ratios the issue
// sets targets for: watch ≤ 1.5× the floor, and ≥ 5× faster than polling.
func report(b *testing.B, floor, watched, polled []time.Duration) {
	b.Logf("floor   %v", floor)
	b.Logf("watch   %v", watched)
	b.Logf("polling %v", polled)
	fm, wm, pm := median(floor), median(watched), mean(polled)
	b.ReportMetric(ms(fm), "floor-ms")
	b.ReportMetric(ms(wm), "watch-ms")
	b.ReportMetric(ms(pm), "polling5s-ms")
	b.ReportMetric(float64(wm)/float64(fm), "watch/floor")
	b.ReportMetric(float64(pm)/float64(wm), "polling/watch")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "%s: floor %s, watch %s (%.2f× the floor), 5s polling %s (%.1f× watch)\n",
		b.Name(), fm.Round(time.Millisecond), wm.Round(time.Millisecond), float64(wm)/float64(fm), pm.Round(time.Millisecond), float64(pm)/float64(wm))
}

// sleepUntil waits until t (a benchmark's pacing, not synchronisation).
func sleepUntil(t time.Time) {
	timer := time.NewTimer(time.Until(t))
	<-timer.C
}
