package chaos

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/watch"
)

func TestPercentileIsNearestRank(t *testing.T) {
	xs := []float64{9, 1, 8, 2, 7, 3, 6, 4, 5, 10}
	for _, c := range []struct{ p, want float64 }{{50, 5}, {95, 10}, {100, 10}, {10, 1}, {0, 1}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile of nothing = %v", got)
	}
	if xs[0] != 9 {
		t.Error("percentile sorted its input")
	}
}

func TestSummarizeCountsEachOutcome(t *testing.T) {
	r := &Report{Faults: []Fault{
		{Kind: KindKillPub, Recovered: true, RecoverS: 2},
		{Kind: KindKillPub, Recovered: true, RecoverS: 4},
		{Kind: KindKillPub, Problem: "pub-01 is not running"},
		{Kind: KindKillPub, Error: "not running"},
		{Kind: KindPowerOff, Recovered: true, RecoverS: 40},
	}}
	r.summarize(Kinds)
	if len(r.Kinds) != len(Kinds) {
		t.Fatalf("%d kinds, want %d", len(r.Kinds), len(Kinds))
	}
	kill := r.Kinds[0]
	want := KindStats{Kind: KindKillPub, Injected: 4, InjectFailed: 1, Recovered: 2, NeverRecovered: 1, P50S: 2, P95S: 4, MaxS: 4}
	if kill != want {
		t.Errorf("kill-pub = %+v\nwant       %+v", kill, want)
	}
	var text strings.Builder
	r.Failures = []string{"pub-01 never recovered"}
	r.WriteText(&text)
	for _, s := range []string{"FAILED (1)", "kill-pub", "power-off", "never recovered:", "pub-01 is not running"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("the text report lacks %q:\n%s", s, text.String())
		}
	}
}

// The same seed draws the same gaps and decks: a soak can be run again.
func TestSchedulingIsRepeatableFromTheSeed(t *testing.T) {
	draw := func(seed uint64) []string {
		d := &driver{opts: Options{Seed: seed}}
		d.rng = newSchedulerRand(seed)
		var out []string
		for range 3 {
			deck := append([]string(nil), Kinds...)
			d.rng.Shuffle(len(deck), func(i, j int) { deck[i], deck[j] = deck[j], deck[i] })
			out = append(out, strings.Join(deck, ","), time.Duration(d.rng.ExpFloat64()*float64(time.Second)).String())
		}
		return out
	}
	a, b, c := draw(7), draw(7), draw(8)
	if strings.Join(a, "|") != strings.Join(b, "|") {
		t.Errorf("seed 7 drew\n%v\nthen\n%v", a, b)
	}
	if strings.Join(a, "|") == strings.Join(c, "|") {
		t.Error("seeds 7 and 8 drew the same")
	}
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	p := watch.PolicyOf(inventory.Watch{Backoff: inventory.Backoff{Initial: inventory.Duration(time.Second), Max: inventory.Duration(10 * time.Second)}})
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, backoff(p, n))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoff 1..6 = %v, want %v", got, want)
		}
	}
}

func TestPubProblem(t *testing.T) {
	inv := &inventory.Inventory{Pubs: []inventory.Pub{{Name: "a", Hub: "h1"}, {Name: "b", Hub: "h2", State: "stopped"}}}
	s := &snapshot{Answered: map[string]bool{"h1": true, "h2": true}}
	cases := []struct {
		copies []copyOf
		pub    string
		want   string
	}{
		{[]copyOf{{Hub: "h1", Pub: "a", Running: true, Healthy: true}}, "a", ""},
		{nil, "a", "a is not running (wanted on h1)"},
		{[]copyOf{{Hub: "h1", Pub: "a", Running: true}}, "a", "a on h1 is not healthy"},
		{[]copyOf{{Hub: "h2", Pub: "a", Running: true, Healthy: true}}, "a", "a runs on h2, the inventory places it on h1"},
		{[]copyOf{{Hub: "h1", Pub: "a", Running: true, Healthy: true}, {Hub: "h2", Pub: "a", Running: true, Healthy: true}}, "a", "a runs on h1 and h2 at once"},
		{[]copyOf{{Hub: "h2", Pub: "b"}}, "b", ""},
		{[]copyOf{{Hub: "h2", Pub: "b", Running: true}}, "b", "b is wanted stopped but runs on h2"},
	}
	for _, c := range cases {
		s.Copies = c.copies
		if got := s.pubProblem(inv, c.pub); got != c.want {
			t.Errorf("%+v: %q, want %q", c.copies, got, c.want)
		}
	}
}

// The restart check fails a heal that came sooner than the backoff allows,
// and passes heals spaced as it asks.
func TestAuditCatchesHealsFasterThanTheBackoff(t *testing.T) {
	policy := watch.Policy{Initial: time.Second, Max: 10 * time.Second, ResetAfter: 30 * time.Second, Restarts: 5, Window: 2 * time.Minute}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	run := func(gaps ...time.Duration) *Report {
		dir := t.TempDir()
		log := audit.File(filepath.Join(dir, "audit.jsonl"), audit.SourceWatch)
		if err := log.Open(); err != nil {
			t.Fatal(err)
		}
		at := t0
		for i, g := range gaps {
			at = at.Add(g)
			log.Write(audit.Record{Time: at, Pub: "pub-01", Hub: "hub-1", Action: watch.ActionStart, Result: watch.ResultOK, Attempt: i + 1})
		}
		log.Close()
		d := &driver{opts: Options{Dir: dir}, policy: policy}
		rep := &Report{}
		d.audit(rep)
		return rep
	}
	// Attempt 2 is due 1s after attempt 1, attempt 3 2s after attempt 2.
	if rep := run(0, time.Second, 2*time.Second); !rep.Passed() || rep.MaxRestartsInWindow != 3 {
		t.Errorf("heals spaced as the backoff asks: failures %v, max in window %d", rep.Failures, rep.MaxRestartsInWindow)
	}
	rep := run(0, time.Second, 500*time.Millisecond)
	if rep.Passed() || !strings.Contains(rep.Failures[0], "heal attempt 3") {
		t.Errorf("attempt 3 half a second after attempt 2 passed: %v", rep.Failures)
	}
	if rep.AllowedRestartsInWindow != 38 {
		t.Errorf("allowed in the window = %d, want (120/30+1)*5 + 120/10 + 1 = 38", rep.AllowedRestartsInWindow)
	}
}
