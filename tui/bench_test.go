package tui

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/live"
)

// Scale: the console over 100 hubs and 2,000 pubs. make bench runs each
// benchmark once (-benchtime 1x); each repeats its measure itself and
// reports the figures with b.ReportMetric.

const benchHubs, benchPubsPerHub = 100, 20

// bigFleet is a model of 100 hubs / 2,000 pubs, every hub observed (a few
// unreachable, pubs in every state).
func bigFleet(b *testing.B, w, h int) *Model {
	b.Helper()
	var y strings.Builder
	y.WriteString("version: 1\nhubs:\n")
	for i := range benchHubs {
		fmt.Fprintf(&y, "  - {name: hub-%03d, address: 10.0.%d.%d, capacity: 40}\n", i, i/250, i%250+1)
	}
	y.WriteString("pubs:\n")
	for i := range benchHubs {
		for j := range benchPubsPerHub {
			fmt.Fprintf(&y, "  - {name: pub-%03d-%02d, hub: hub-%03d, port: %d}\n", i, j, i, 8008+j)
		}
	}
	opts := testOptions()
	m := New(parseFixture(b, y.String()), opts)
	b.Cleanup(func() { m.Close() })
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(invStatMsg{watch: "off", mod: clock})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range benchHubs {
		hub := fmt.Sprintf("hub-%03d", i)
		snap := &fleet.Snapshot{Hubs: []fleet.Hub{{Name: hub, Reachable: i%25 != 7, Engine: &engine.Info{Version: "20.10.24", CPUs: 2}}}}
		if !snap.Hubs[0].Reachable {
			snap.Hubs[0].Error = hub + ": ssh: dial tcp: i/o timeout"
		}
		for j := range benchPubsPerHub {
			name := fmt.Sprintf("pub-%03d-%02d", i, j)
			c := fleet.Container{Name: "buttctl-pub-" + name, Pub: name, Image: "ahdinosaur/ssb-pub", State: "running", Health: "healthy", StartedAt: at(time.Duration(rng.IntN(100000)) * time.Second), Restarts: rng.IntN(3)}
			p := fleet.Pub{Name: name, Hub: hub, Want: "running", Status: fleet.StatusRunning, Container: &c}
			switch {
			case !snap.Hubs[0].Reachable:
				p = fleet.Pub{Name: name, Hub: hub, Want: "running", Status: fleet.StatusUnknown, Error: snap.Hubs[0].Error}
			case j == 3:
				c.Health, p.Status = "unhealthy", fleet.StatusUnhealthy
			case j == 5:
				c.State, p.Status = "exited", fleet.StatusDown
			}
			if p.Container != nil {
				snap.Hubs[0].Containers = append(snap.Hubs[0].Containers, c)
			}
			snap.Pubs = append(snap.Pubs, p)
		}
		m.Update(hubObservedMsg{gen: m.gen, hub: hub, snap: snap})
	}
	m.Render()
	return m
}

// BenchmarkView: View() of the Pubs view of 2,000 pubs and of the Hubs view
// of 100 hubs, at 200×60 and 80×24; target < 5 ms. "tick+view" is the
// clock tick that re-dates every uptime (all 2,000 rows made again and
// sorted, in Update) and the frame after it.
func BenchmarkView(b *testing.B) {
	for _, size := range []struct{ w, h int }{{200, 60}, {80, 24}} {
		for _, v := range []view{viewPubs, viewHubs} {
			name := map[view]string{viewPubs: "pubs", viewHubs: "hubs"}[v]
			b.Run(fmt.Sprintf("%s_%dx%d", name, size.w, size.h), func(b *testing.B) {
				m := bigFleet(b, size.w, size.h)
				m.view = v
				const reps = 200
				var warm, cold time.Duration
				for range b.N {
					start := time.Now()
					for range reps {
						m.pubTable.moveBy(1) // a keypress: the selection moves
						_ = m.View()
					}
					warm += time.Since(start)
					start = time.Now()
					for range reps / 10 {
						m.Update(clockTickMsg{})
						_ = m.View()
					}
					cold += time.Since(start)
				}
				b.ReportMetric(float64(warm.Microseconds())/float64(b.N*reps)/1000, "ms/view")
				b.ReportMetric(float64(cold.Microseconds())/float64(b.N*reps/10)/1000, "ms/tick+view")
			})
		}
	}
}

// BenchmarkEventBurst: 1,000 state events (die, start, health) over the
// 2,000 pubs, applied and rendered; target < 50 ms. "batched" is how the
// bridge delivers a burst (one message with every event waiting);
// "one-by-one" is the worst case, a render after every single event.
func BenchmarkEventBurst(b *testing.B) {
	m := bigFleet(b, 200, 60)
	rng := rand.New(rand.NewPCG(3, 4))
	burst := func() []live.Event {
		evs := make([]live.Event, 1000)
		for i := range evs {
			h := rng.IntN(benchHubs)
			for h%25 == 7 {
				h = rng.IntN(benchHubs)
			}
			ev := live.Event{Hub: fmt.Sprintf("hub-%03d", h), Pub: fmt.Sprintf("pub-%03d-%02d", h, rng.IntN(benchPubsPerHub)), Time: clock}
			switch rng.IntN(3) {
			case 0:
				ev.Action = "die"
			case 1:
				ev.Action = "start"
			default:
				ev.Action, ev.Health = live.ActionHealthStatus, []string{"healthy", "unhealthy"}[rng.IntN(2)]
			}
			evs[i] = ev
		}
		return evs
	}
	for _, sorted := range []bool{false, true} {
		m.pubTable.sortCol = 0
		if sorted { // sorted by STATUS: every change may move its row
			m.pubTable.sortCol = 2
		}
		m.pubTable.dirty = true
		m.View()
		label := map[bool]string{false: "by-name", true: "by-status"}[sorted]
		const reps = 5
		var batched, single time.Duration
		for range b.N * reps {
			evs := burst()
			start := time.Now()
			m.Update(engineEventsMsg{gen: m.gen, events: evs})
			_ = m.View()
			batched += time.Since(start)
			for _, hs := range m.hubs {
				hs.queued = false
			}
			evs = burst()
			start = time.Now()
			for _, ev := range evs {
				m.Update(engineEventsMsg{gen: m.gen, events: []live.Event{ev}})
				_ = m.View()
			}
			single += time.Since(start)
			for _, hs := range m.hubs {
				hs.queued = false
			}
		}
		b.ReportMetric(float64(batched.Microseconds())/float64(b.N*reps)/1000, "ms/burst-batched-"+label)
		b.ReportMetric(float64(single.Microseconds())/float64(b.N*reps)/1000, "ms/burst-one-by-one-"+label)
	}
}

// BenchmarkLogFollowMemory: a follow of 1,000,000 lines through the whole
// bridge (the stream's writer, the mailbox, the view's ring), rendered as
// it goes; the heap after 1M lines against after 10k shows it is bounded.
func BenchmarkLogFollowMemory(b *testing.B) {
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for range b.N {
		m := bigFleet(b, 200, 60)
		m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
		press(m, ":")
		typeText(m, "logs pub-000-00 pub-000-01")
		press(m, "enter")
		v := m.logs
		w := &lineWriter{box: v.box, src: 0}
		line := []byte(strings.Repeat("peer connected from net:10.1.2.3:8008~shs:@abcdefghijklmnopqrstuvwxyz= ", 2) + "\n")
		chunk := make([]byte, 0, 100*len(line))
		for range 100 {
			chunk = append(chunk, line...)
		}
		var at10k uint64
		start := time.Now()
		for i := 0; i < 1_000_000; i += 100 {
			_, _ = w.Write(chunk)
			if i%1000 == 0 { // the program takes what came, now and then
				lines, dropped, open := v.box.take(v.ctx)
				m.Update(logLinesMsg{session: v.session, lines: lines, dropped: dropped, open: open})
				_ = m.View()
			}
			if i == 10_000 {
				at10k = heap()
			}
		}
		took := time.Since(start)
		at1m := heap()
		b.ReportMetric(float64(at10k)/(1<<20), "MB-heap@10k-lines")
		b.ReportMetric(float64(at1m)/(1<<20), "MB-heap@1M-lines")
		b.ReportMetric(float64(at1m)/float64(at10k), "heap-ratio-1M/10k")
		b.ReportMetric(float64(v.ring.n), "lines-kept")
		b.ReportMetric(float64(took.Nanoseconds())/1e6, "ns/line-incl-frames")
	}
}
