package fleet_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// The tests of NewPlan build snapshots by hand: NewPlan is a pure function
// of the inventory and a snapshot (Observe's tests run against real engines).

func parse(t *testing.T, text string) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Parse("plan.yaml", []byte("version: 1\ndefaults: {image: ahdinosaur/ssb-pub, memory: 64m}\n"+text))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// observed is a snapshot in which every hub of inv is reachable and runs
// every pub placed on it, running and healthy, from the inventory's spec.
func observed(t *testing.T, inv *inventory.Inventory) *fleet.Snapshot {
	t.Helper()
	snap := &fleet.Snapshot{}
	for _, h := range inv.Hubs {
		oh := fleet.Hub{Name: h.Name, Local: h.Local, Capacity: h.Capacity, Reachable: true}
		for _, p := range inv.PubsOn(h.Name) {
			spec, err := pubspec.Build(inv, p)
			if err != nil {
				t.Fatal(err)
			}
			oh.Containers = append(oh.Containers, fleet.Container{ID: "id-" + p.Name, Name: spec.ContainerName, Pub: p.Name, State: "running", Health: "healthy", SpecHash: spec.Labels[engine.LabelSpec], Config: configOf(spec)})
			oh.Volumes = append(oh.Volumes, fleet.Volume{Name: spec.Volume, Pub: p.Name})
		}
		snap.Hubs = append(snap.Hubs, oh)
	}
	for _, p := range inv.Pubs {
		snap.Pubs = append(snap.Pubs, fleet.Pub{Name: p.Name, Hub: p.Hub})
	}
	return snap
}

// configOf is the configuration a container made from spec shows.
func configOf(s pubspec.Spec) *fleet.Config {
	return &fleet.Config{Image: s.Image, Env: s.Env, HostPort: s.HostPort, Memory: s.Memory, Health: s.Health, Restart: s.Restart,
		Volume: s.Volume, DataDir: s.DataDir, Network: s.Network, SecurityOpt: s.SecurityOpt, LogDriver: s.LogDriver, LogOptions: s.LogOptions}
}

// actions renders a plan's actions one a line, as "kind pub@hub [blocked]".
func actions(p *fleet.Plan) string {
	var b strings.Builder
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "%s %s@%s", a.Kind, a.Pub, a.Hub)
		if a.Blocked != "" {
			b.WriteString(" [blocked]")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestPlanInSyncIsEmpty(t *testing.T) {
	inv := parse(t, `hubs: [{name: h1, address: 10.0.0.1}, {name: h2, address: 10.0.0.2}]
pubs: [{name: a, hub: h1}, {name: b, hub: h2}, {name: c, hub: h2, port: 8009, state: stopped}]
`)
	snap := observed(t, inv)
	snap.Hubs[1].Containers[1].State = "exited"
	p := fleet.NewPlan(inv, snap, fleet.PlanOptions{Prune: true, Purge: true})
	if !p.Empty() || p.Pending() != 0 || len(p.Warnings) != 0 {
		t.Errorf("plan of a fleet in sync:\n%s%v", actions(p), p.Warnings)
	}
}

func TestPlanStatesAndOrder(t *testing.T) {
	inv := parse(t, `hubs: [{name: h1, address: 10.0.0.1}, {name: h2, address: 10.0.0.2}]
pubs:
  - {name: missing, hub: h1}
  - {name: exited, hub: h1, port: 8009}
  - {name: running, hub: h2, state: stopped}
  - {name: dead, hub: h2, port: 8009}
  - {name: restarting, hub: h2, port: 8010}
`)
	snap := observed(t, inv)
	h1, h2 := &snap.Hubs[0], &snap.Hubs[1]
	h1.Containers = h1.Containers[1:] // "missing" has no container
	h1.Containers[0].State = "exited"
	h2.Containers[1].State = "dead"
	h2.Containers[2].State = "restarting" // Docker's restart policy is at work: not apply's business
	p := fleet.NewPlan(inv, snap, fleet.PlanOptions{})
	want := "stop running@h2\nrecreate dead@h2\ncreate missing@h1\nstart exited@h1\n"
	if got := actions(p); got != want {
		t.Errorf("plan:\n%swant:\n%s", got, want)
	}
	if p.Actions[2].Reason != "missing (its data volume, and identity, is kept)" {
		t.Errorf("create's reason %q", p.Actions[2].Reason)
	}
	if p.Actions[0].Kind.Marker() != "~" || p.Actions[1].Kind.Marker() != "-/+" || p.Actions[2].Kind.Marker() != "+" {
		t.Errorf("markers %q %q %q", p.Actions[0].Kind.Marker(), p.Actions[1].Kind.Marker(), p.Actions[2].Kind.Marker())
	}
}

// Each kind of spec drift is told by field, from the spec hash.
func TestPlanDrift(t *testing.T) {
	inv := parse(t, `hubs: [{name: h1, address: 10.0.0.1}]
pubs: [{name: a, hub: h1, env: {A: "1"}}]
`)
	imageEnv := []string{"PATH=/bin", "ssb_host="}
	imageHealth := &inventory.HealthCheck{Test: []string{"CMD", "sbot", "whoami"}, Interval: inventory.Duration(30e9)}
	cases := []struct {
		name    string
		edit    string // the inventory's pub line after the change
		changes []string
	}{
		{"image", `{name: a, hub: h1, env: {A: "1"}, image: "ahdinosaur/ssb-pub:2"}`, []string{"image: ahdinosaur/ssb-pub → ahdinosaur/ssb-pub:2"}},
		{"env changed", `{name: a, hub: h1, env: {A: "2"}}`, []string{"env.A: 1 → 2"}},
		{"env added and removed", `{name: a, hub: h1, env: {B: "x"}}`, []string{"env.B: (unset) → x", "env.A: 1 → (unset)"}},
		{"port", `{name: a, hub: h1, env: {A: "1"}, port: 9000}`, []string{"env.ssb_port: 8008 → 9000", "port: 8008 → 9000"}},
		{"memory", `{name: a, hub: h1, env: {A: "1"}, memory: 1g}`, []string{"memory: 64m → 1g"}},
		{"health", `{name: a, hub: h1, env: {A: "1"}, health: {interval: 5s, retries: 3}}`, []string{"health: CMD sbot whoami, every 30s → CMD sbot whoami, every 5s, 3 retries"}},
		{"host", `{name: a, hub: h1, env: {A: "1"}, host: pub.example.org}`, []string{"env.ssb_host: 10.0.0.1 → pub.example.org"}},
		{"restart", `{name: a, hub: h1, env: {A: "1"}, restart: always}`, []string{"restart: unless-stopped → always"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := observed(t, inv)
			cont := &before.Hubs[0].Containers[0]
			cont.Config.Env = mergeEnv(imageEnv, cont.Config.Env)
			cont.Config.ImageEnv, cont.Config.Health, cont.Config.ImageHealth = imageEnv, imageHealth, imageHealth
			after := parse(t, "hubs: [{name: h1, address: 10.0.0.1}]\npubs: ["+c.edit+"]\n")
			p := fleet.NewPlan(after, before, fleet.PlanOptions{})
			if len(p.Actions) != 1 || p.Actions[0].Kind != fleet.ActionRecreate {
				t.Fatalf("plan:\n%s", actions(p))
			}
			var got []string
			for _, ch := range p.Actions[0].Changes {
				got = append(got, ch.String())
			}
			if !slices.Equal(got, c.changes) {
				t.Errorf("changes %q, want %q", got, c.changes)
			}
			if !strings.HasPrefix(p.Actions[0].Reason, "spec drift: ") {
				t.Errorf("reason %q", p.Actions[0].Reason)
			}
		})
	}

	// A container whose hash differs while every field matches (made by an
	// older buttctl, say) is recreated, and says so by the hash.
	snap := observed(t, inv)
	snap.Hubs[0].Containers[0].SpecHash = "0123456789abcdef"
	p := fleet.NewPlan(inv, snap, fleet.PlanOptions{})
	if len(p.Actions) != 1 || len(p.Actions[0].Changes) != 1 || p.Actions[0].Changes[0].Field != "spec" || p.Actions[0].Changes[0].From != "0123456789abcdef" {
		t.Errorf("hash-only drift: %+v", p.Actions)
	}
}

func mergeEnv(image, spec []string) []string {
	out := slices.Clone(image)
	for _, kv := range spec {
		k, _, _ := strings.Cut(kv, "=")
		out = slices.DeleteFunc(out, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		out = append(out, kv)
	}
	return out
}

func TestPlanOrphans(t *testing.T) {
	inv := parse(t, `hubs: [{name: h1, address: 10.0.0.1}, {name: h2, address: 10.0.0.2}]
pubs: [{name: a, hub: h1}]
`)
	snap := observed(t, inv)
	// gone: not in the inventory, with its volume; a: also on h2, where the
	// inventory does not place it; old: only a volume left.
	snap.Hubs[0].Containers = append(snap.Hubs[0].Containers, fleet.Container{ID: "id-gone", Name: "buttctl-pub-gone", Pub: "gone", State: "running"})
	snap.Hubs[0].Volumes = append(snap.Hubs[0].Volumes, fleet.Volume{Name: "buttctl-pub-gone-data", Pub: "gone"}, fleet.Volume{Name: "buttctl-pub-old-data", Pub: "old"})
	snap.Hubs[1].Containers = append(snap.Hubs[1].Containers, fleet.Container{ID: "id-a2", Name: "buttctl-pub-a", Pub: "a", State: "exited"})
	snap.Orphans = []fleet.Orphan{
		{Hub: "h1", Container: snap.Hubs[0].Containers[1], HasVolume: true},
		{Hub: "h2", Container: snap.Hubs[1].Containers[0], InInventory: true},
	}

	keep := fleet.NewPlan(inv, snap, fleet.PlanOptions{})
	if !keep.Empty() || len(keep.Kept) != 2 {
		t.Errorf("without prune: %s kept %d", actions(keep), len(keep.Kept))
	}
	prune := fleet.NewPlan(inv, snap, fleet.PlanOptions{Prune: true})
	if got := actions(prune); got != "remove gone@h1\nremove a@h2\n" || prune.Actions[0].Volume != "" || prune.Actions[0].Container != "id-gone" {
		t.Errorf("prune:\n%s%+v", got, prune.Actions)
	}
	purge := fleet.NewPlan(inv, snap, fleet.PlanOptions{Prune: true, Purge: true})
	if got := actions(purge); got != "remove gone@h1\nremove a@h2\nremove old@h1\n" {
		t.Errorf("purge:\n%s", got)
	}
	// The identity of a pub the inventory knows is never purged.
	if purge.Actions[0].Volume != "buttctl-pub-gone-data" || purge.Actions[1].Volume != "" || purge.Actions[2].Volume != "buttctl-pub-old-data" || purge.Actions[2].Container != "" {
		t.Errorf("purge: %+v", purge.Actions)
	}
	// Select keeps the plan to some pubs, orphans included.
	only := fleet.NewPlan(inv, snap, fleet.PlanOptions{Prune: true, Purge: true, Select: func(p string) bool { return p == "old" }})
	if got := actions(only); got != "remove old@h1\n" {
		t.Errorf("select:\n%s", got)
	}
}

// A pub whose hub changed in the inventory is not created anew on its new
// hub while its data is on the old one: that would change its identity.
func TestPlanMoveNeedsIdentity(t *testing.T) {
	old := parse(t, "hubs: [{name: h1, address: 10.0.0.1}, {name: h2, address: 10.0.0.2}]\npubs: [{name: a, hub: h1}]\n")
	snap := observed(t, old)
	snap.Orphans = []fleet.Orphan{{Hub: "h1", Container: snap.Hubs[0].Containers[0], InInventory: true, HasVolume: true}}
	inv := parse(t, "hubs: [{name: h1, address: 10.0.0.1}, {name: h2, address: 10.0.0.2}]\npubs: [{name: a, hub: h2}]\n")
	p := fleet.NewPlan(inv, snap, fleet.PlanOptions{Prune: true})
	if got := actions(p); got != "move a@h2 [blocked]\n" || !strings.Contains(p.Actions[0].Blocked, "buttctl pub move a --to h2") || len(p.Kept) != 1 {
		t.Errorf("plan:\n%s%+v kept %d", got, p.Actions, len(p.Kept))
	}
	if p.Pending() != 0 || p.Blocked() != 1 {
		t.Errorf("pending %d blocked %d", p.Pending(), p.Blocked())
	}
}

// A pub whose move was killed after it started the pub on the target, before
// it wrote the inventory, runs there: it is not started on its own hub too.
func TestPlanRunningElsewhereIsNotStarted(t *testing.T) {
	inv := parse(t, "hubs: [{name: h1, address: 10.0.0.1}, {name: h2, address: 10.0.0.2}]\npubs: [{name: a, hub: h1}]\n")
	snap := observed(t, inv)
	snap.Hubs[0].Containers[0].State = "exited"
	snap.Hubs[1].Containers = append(snap.Hubs[1].Containers, fleet.Container{ID: "id-a2", Name: "buttctl-pub-a", Pub: "a", State: "running"})
	snap.Orphans = []fleet.Orphan{{Hub: "h2", Container: snap.Hubs[1].Containers[0], InInventory: true, HasVolume: true}}
	p := fleet.NewPlan(inv, snap, fleet.PlanOptions{Prune: true})
	if got := actions(p); got != "start a@h1 [blocked]\n" || !strings.Contains(p.Actions[0].Blocked, "it runs on hub h2") || len(p.Kept) != 1 {
		t.Errorf("plan:\n%s%+v kept %d", got, p.Actions, len(p.Kept))
	}
	snap.Hubs[1].Containers[0].State = "exited"
	if got := actions(fleet.NewPlan(inv, snap, fleet.PlanOptions{})); got != "start a@h1\n" {
		t.Errorf("with the other container stopped:\n%s", got)
	}
}

func TestPlanUnreachableHub(t *testing.T) {
	inv := parse(t, "hubs: [{name: h1, address: 10.0.0.1}, {name: h2, address: 10.0.0.2}]\npubs: [{name: a, hub: h1}, {name: b, hub: h2}]\n")
	snap := observed(t, inv)
	snap.Hubs[0].Containers, snap.Hubs[1].Containers = nil, nil
	snap.Hubs[1].Reachable = false
	p := fleet.NewPlan(inv, snap, fleet.PlanOptions{})
	if got := actions(p); got != "create a@h1\n" || !slices.Equal(p.Unreachable, []string{"h2"}) || len(p.Warnings) != 1 {
		t.Errorf("plan:\n%s%v %v", got, p.Unreachable, p.Warnings)
	}
}

func TestPlanCloud(t *testing.T) {
	inv := parse(t, `cloud: {name: test}
hubs: [{name: h1, address: 10.0.0.1, server_id: s1}, {name: h2, address: 10.0.0.2, server_id: s2}, {name: h3, address: 10.0.0.3}, {name: here, local: true}]
pubs: []
`)
	snap := observed(t, inv)
	snap.Cloud = &fleet.Cloud{Name: "test"}
	snap.Hubs[0].Server = &fleet.Server{ID: "s1", Status: "ACTIVE"}
	snap.Hubs[2].Server = &fleet.Server{ID: "s3", Hub: "h3", Status: "SHUTOFF"}
	p := fleet.NewPlan(inv, snap, fleet.PlanOptions{})
	if got := actions(p); got != "create-hub @h2 [blocked]\n" || p.Actions[0].Reason != "server s2 is not in the cloud" || !strings.Contains(p.Actions[0].Blocked, "buttctl hub create h2") {
		t.Errorf("plan:\n%s%+v", got, p.Actions)
	}
	if len(p.Warnings) != 1 || p.Warnings[0] != "hub h3: server s3 is SHUTOFF" {
		t.Errorf("warnings %q", p.Warnings)
	}
	// Without a cloud section nothing is said about servers.
	snap.Cloud = nil
	if p := fleet.NewPlan(inv, snap, fleet.PlanOptions{}); !p.Empty() || len(p.Warnings) != 0 {
		t.Errorf("no cloud:\n%s%v", actions(p), p.Warnings)
	}
}

// Placement: reachable hubs only, capacity and ports respected, spread to
// the hub with the fewest pubs (the earlier one on a tie), a pub with data
// somewhere back to it, deterministic.
func TestPlanPlacement(t *testing.T) {
	inv := parse(t, `hubs:
  - {name: h1, address: 10.0.0.1, capacity: 2}
  - {name: h2, address: 10.0.0.2, capacity: 3}
  - {name: h3, address: 10.0.0.3}
  - {name: down, address: 10.0.0.4}
pubs:
  - {name: a, hub: h1, port: 8001}
  - {name: b, hub: h2, port: 8001}
  - {name: c, hub: h3, port: 8001}
  - {name: d, hub: h3, port: 8002}
  - {name: n1, port: 8010}
  - {name: n2, port: 8011}
  - {name: n3, port: 8002}
  - {name: n4, port: 8001}
  - {name: back, port: 8020}
`)
	snap := observed(t, inv)
	snap.Hubs[3].Reachable = false
	// back's data volume is on h2.
	snap.Hubs[1].Volumes = append(snap.Hubs[1].Volumes, fleet.Volume{Name: "buttctl-pub-back-data", Pub: "back"})
	plan := func() map[string]string {
		p := fleet.NewPlan(inv, snap, fleet.PlanOptions{})
		out := map[string]string{}
		for _, a := range p.Actions {
			if a.Kind == fleet.ActionPlace {
				out[a.Pub] = a.Hub
				if a.Blocked != "" {
					out[a.Pub] = "blocked: " + a.Blocked
				}
			}
		}
		return out
	}
	got := plan()
	// n1: h1 (1 pub, cap 2), h2 (1), h3 (2): h1 first on the tie → h1 full.
	// n2: h2 (1) vs h3 (2) → h2. n3 (port 8002): h2 (2) vs h3 (2, 8002 taken
	// by d) → h2, which is full now. n4 (port 8001): h3 only, 8001 taken there
	// by c → nowhere. back: to h2, where its data is, but h2 is full.
	want := map[string]string{"n1": "h1", "n2": "h2", "n3": "h2"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s placed on %q, want %s (all: %v)", k, got[k], v, got)
		}
	}
	if !strings.HasPrefix(got["n4"], "blocked: no hub can take it (h1 full (2/2); h2 full (3/3); h3 port 8001 taken; down unreachable)") {
		t.Errorf("n4: %s", got["n4"])
	}
	if !strings.HasPrefix(got["back"], "blocked: its data (and identity) is on hub h2, which cannot take it: full (3/3)") {
		t.Errorf("back: %s", got["back"])
	}
	for range 5 {
		if again := plan(); fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("placement is not deterministic: %v then %v", got, again)
		}
	}
	// A placed pub is created on its hub in the same plan.
	p := fleet.NewPlan(inv, snap, fleet.PlanOptions{Select: func(p string) bool { return p == "n1" }})
	if got := actions(p); got != "place n1@h1\ncreate n1@h1\n" || p.Actions[1].Reason != "new on this hub" {
		t.Errorf("plan:\n%s%+v", got, p.Actions)
	}
}
