package fleetcmd

import (
	"strings"
	"testing"

	"github.com/buttctl/buttctl/ops/fleet"
)

// The plan as people read it (README shows this very output).
func TestRenderPlan(t *testing.T) {
	p := &fleet.Plan{
		Actions: []fleet.Action{
			{Kind: fleet.ActionPlace, Pub: "scuttle-9", Hub: "hub-3", Reason: "no hub: fewest pubs (3 of 20)"},
			{Kind: fleet.ActionStop, Pub: "scuttle-2", Hub: "hub-1", Reason: "running, wanted stopped"},
			{Kind: fleet.ActionRecreate, Pub: "scuttle-1", Hub: "hub-1", Reason: "spec drift: image, memory", Changes: []fleet.Change{
				{Field: "image", From: "ahdinosaur/ssb-pub:1", To: "ahdinosaur/ssb-pub:2"}, {Field: "memory", From: "512m", To: "1g"}}},
			{Kind: fleet.ActionCreate, Pub: "scuttle-9", Hub: "hub-3", Reason: "new on this hub"},
			{Kind: fleet.ActionStart, Pub: "scuttle-4", Hub: "hub-2", Reason: "exited, wanted running"},
			{Kind: fleet.ActionMove, Pub: "scuttle-5", Hub: "hub-2", Reason: "its data (and identity) is on hub hub-1",
				Blocked: "move it with its identity ('buttctl pub move scuttle-5 --to hub-2'), or set its hub back to hub-1"},
		},
		Kept:     []fleet.Orphan{{Hub: "hub-2", Container: fleet.Container{Pub: "old-1", State: "exited"}}},
		Warnings: []string{"hub hub-4 could not be observed: what its pubs need is unknown"},
	}
	want := `buttctl will:
  ~   place     scuttle-9 on hub-3: no hub: fewest pubs (3 of 20)
  ~   stop      scuttle-2 on hub-1: running, wanted stopped
  -/+ recreate  scuttle-1 on hub-1: spec drift: image, memory
        image: ahdinosaur/ssb-pub:1 → ahdinosaur/ssb-pub:2
        memory: 512m → 1g
  +   create    scuttle-9 on hub-3: new on this hub
  ~   start     scuttle-4 on hub-2: exited, wanted running
  !   move      scuttle-5 on hub-2: its data (and identity) is on hub hub-1
        needs you: move it with its identity ('buttctl pub move scuttle-5 --to hub-2'), or set its hub back to hub-1

Kept 1 orphan container(s) (apply --prune removes them; data volumes stay):
  old-1 on hub-2 (exited)

Warning: hub hub-4 could not be observed: what its pubs need is unknown

Plan: 1 to place, 1 to create, 1 to recreate, 1 to start, 1 to stop, 0 to remove, 1 need you.
`
	var b strings.Builder
	if err := renderPlan(&b, p, false); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	// On a terminal: markers and changes in colour.
	b.Reset()
	_ = renderPlan(&b, p, true)
	for _, s := range []string{"\x1b[32m+  \x1b[0m create", "\x1b[31m!  \x1b[0m move", "\x1b[31mahdinosaur/ssb-pub:1\x1b[0m → \x1b[32mahdinosaur/ssb-pub:2\x1b[0m"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("no %q in the coloured plan:\n%s", s, b.String())
		}
	}
}
