package fleet

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/engine"
	"github.com/buttctl/buttctl/ops/pubspec"
)

// ActionKind says what an action does.
type ActionKind string

// Action kinds, in the order Apply carries them out.
const (
	// ActionCreateHub: the hub's server is missing in the cloud. Apply
	// does not create servers: 'buttctl hub create' does.
	ActionCreateHub ActionKind = "create-hub"
	// ActionPlace: write the hub chosen for a pub without one into the
	// inventory.
	ActionPlace ActionKind = "place"
	// ActionRemove: remove an orphan container (--prune), and with Purge
	// its data volume.
	ActionRemove ActionKind = "remove"
	// ActionStop: stop a pub the inventory wants stopped.
	ActionStop ActionKind = "stop"
	// ActionRecreate: remove a pub's drifted container, keeping its data
	// volume and identity, and create it anew from the inventory.
	ActionRecreate ActionKind = "recreate"
	// ActionCreate: create a pub's missing container (its data volume is
	// kept if it exists) and start it unless the inventory wants it stopped.
	ActionCreate ActionKind = "create"
	// ActionStart: start a pub's stopped container.
	ActionStart ActionKind = "start"
	// ActionMove: a pub's data is on another hub than the inventory's.
	// Apply does not move identities: 'buttctl pub move' does.
	ActionMove ActionKind = "move"
)

var kindOrder = []ActionKind{ActionCreateHub, ActionPlace, ActionRemove, ActionStop, ActionRecreate, ActionCreate, ActionStart, ActionMove}

// Marker is the sign a plan shows an action with: + adds, - removes, ~
// changes in place, -/+ replaces, ! needs someone.
func (k ActionKind) Marker() string {
	switch k {
	case ActionCreate, ActionCreateHub:
		return "+"
	case ActionRemove:
		return "-"
	case ActionRecreate:
		return "-/+"
	case ActionMove:
		return "!"
	}
	return "~"
}

// Action is one step of a plan.
type Action struct {
	Kind ActionKind `json:"kind"`
	Hub  string     `json:"hub"`
	Pub  string     `json:"pub,omitempty"`
	// Reason says in a few words why: "missing", "exited, wanted running".
	Reason string `json:"reason"`
	// Changes are the fields a recreate changes.
	Changes []Change `json:"changes,omitempty"`
	// Container is the id of the container a remove removes.
	Container string `json:"container,omitempty"`
	// Volume is the data volume a remove deletes (--purge), with the pub's
	// identity.
	Volume string `json:"volume,omitempty"`
	// Blocked says why Apply will not carry the action out, and what to do.
	Blocked string `json:"blocked,omitempty"`
}

func (a Action) String() string {
	s := fmt.Sprintf("%s %s", a.Kind.Marker(), a.Kind)
	if a.Pub != "" {
		s += " " + a.Pub + " on " + a.Hub
	} else {
		s += " " + a.Hub
	}
	if a.Reason != "" {
		s += ": " + a.Reason
	}
	return s
}

// Plan is what would make the fleet match the inventory.
type Plan struct {
	// Actions are in the order Apply carries them out: create-hub, place,
	// remove, stop, recreate, create, start, move; within a kind by hub, then
	// pub, in inventory order.
	Actions []Action `json:"actions"`
	// Kept are orphan containers left alone because pruning was not asked.
	Kept []Orphan `json:"kept"`
	// Unreachable are the hubs that could not be observed: what they need is
	// unknown.
	Unreachable []string `json:"unreachable"`
	// Warnings are things a person should know that no action fixes.
	Warnings []string `json:"warnings"`
}

// Pending counts the actions Apply would carry out (not the blocked ones).
func (p *Plan) Pending() int {
	n := 0
	for _, a := range p.Actions {
		if a.Blocked == "" {
			n++
		}
	}
	return n
}

// Blocked counts the actions that need someone.
func (p *Plan) Blocked() int { return len(p.Actions) - p.Pending() }

// Empty says the fleet is as the inventory asks, as far as it was seen.
func (p *Plan) Empty() bool { return len(p.Actions) == 0 }

// Count counts the actions of kind.
func (p *Plan) Count(kind ActionKind) int {
	n := 0
	for _, a := range p.Actions {
		if a.Kind == kind {
			n++
		}
	}
	return n
}

// PlanOptions tune NewPlan.
type PlanOptions struct {
	// Prune removes orphan containers (their data volumes stay).
	Prune bool
	// Purge, with Prune, also deletes the data volumes of orphans whose pub
	// is not in the inventory at all, and with them their identities.
	Purge bool
	// Select restricts the plan to the pubs it accepts, orphans included
	// (nil: every pub).
	Select func(pub string) bool
}

// NewPlan compares the snapshot with the inventory and returns the actions
// that would make the fleet match it. It only reads its arguments.
func NewPlan(inv *inventory.Inventory, snap *Snapshot, opts PlanOptions) *Plan {
	sel := opts.Select
	if sel == nil {
		sel = func(string) bool { return true }
	}
	p := &Plan{Actions: []Action{}, Kept: []Orphan{}, Unreachable: []string{}, Warnings: []string{}}
	for _, h := range snap.Hubs {
		if !h.Reachable {
			p.Unreachable = append(p.Unreachable, h.Name)
		}
	}
	p.cloud(inv, snap)

	placed := place(inv, snap, sel)
	moving := map[string]bool{}
	for _, ip := range inv.Pubs {
		if !sel(ip.Name) {
			continue
		}
		if ip.Hub == "" {
			pl := placed[ip.Name]
			if pl.hub == "" {
				p.Actions = append(p.Actions, Action{Kind: ActionPlace, Pub: ip.Name, Reason: "no hub", Blocked: pl.why})
				continue
			}
			p.Actions = append(p.Actions, Action{Kind: ActionPlace, Pub: ip.Name, Hub: pl.hub, Reason: "no hub: " + pl.why})
			ip.Hub = pl.hub
		}
		h := snap.Hub(ip.Hub)
		if h == nil || !h.Reachable {
			continue
		}
		spec, err := pubspec.Build(inv, ip)
		if err != nil {
			p.Actions = append(p.Actions, Action{Kind: ActionCreate, Pub: ip.Name, Hub: ip.Hub, Reason: "spec", Blocked: err.Error() + ": fix the inventory"})
			continue
		}
		c := h.Container(ip.Name)
		if c == nil {
			if a, ok := p.moveInstead(ip, snap); ok {
				moving[ip.Name] = true
				p.Actions = append(p.Actions, a)
				continue
			}
			reason := "missing"
			if h.HasVolume(ip.Name) {
				reason += " (its data volume, and identity, is kept)"
			} else if !isPlaced(inv, ip.Name) {
				reason = "new on this hub"
			}
			p.Actions = append(p.Actions, Action{Kind: ActionCreate, Pub: ip.Name, Hub: ip.Hub, Reason: reason})
			continue
		}
		want := ip.State
		blocked := ""
		if other := runsElsewhere(ip, snap); other != "" && want != inventory.StateStopped {
			moving[ip.Name] = true
			blocked = fmt.Sprintf("it runs on hub %s, with its identity (a move that did not finish?): finish the move ('buttctl pub move %s --to %s'), or stop it there", other, ip.Name, other)
		}
		if c.SpecHash != spec.Labels[engine.LabelSpec] {
			changes := Diff(spec, c.Config, c.SpecHash)
			fields := make([]string, 0, len(changes))
			for _, ch := range changes {
				fields = append(fields, strings.SplitN(ch.Field, ".", 2)[0])
			}
			p.Actions = append(p.Actions, Action{Kind: ActionRecreate, Pub: ip.Name, Hub: ip.Hub, Reason: "spec drift: " + strings.Join(slices.Compact(fields), ", "), Changes: changes, Blocked: blocked})
			continue
		}
		switch {
		case want != inventory.StateStopped && (c.State == string(container.StateCreated) || c.State == string(container.StateExited)):
			p.Actions = append(p.Actions, Action{Kind: ActionStart, Pub: ip.Name, Hub: ip.Hub, Reason: c.State + ", wanted running", Blocked: blocked})
		case want != inventory.StateStopped && c.State == string(container.StateDead):
			p.Actions = append(p.Actions, Action{Kind: ActionRecreate, Pub: ip.Name, Hub: ip.Hub, Reason: "dead container", Blocked: blocked})
		case want == inventory.StateStopped && (c.State == string(container.StateRunning) || c.State == string(container.StateRestarting) || c.State == string(container.StatePaused)):
			p.Actions = append(p.Actions, Action{Kind: ActionStop, Pub: ip.Name, Hub: ip.Hub, Reason: c.State + ", wanted stopped"})
		}
	}
	p.orphans(snap, opts, sel, moving)
	slices.SortStableFunc(p.Actions, func(a, b Action) int {
		return slices.Index(kindOrder, a.Kind) - slices.Index(kindOrder, b.Kind)
	})
	for _, h := range p.Unreachable {
		p.Warnings = append(p.Warnings, fmt.Sprintf("hub %s could not be observed: what its pubs need is unknown", h))
	}
	return p
}

func isPlaced(inv *inventory.Inventory, pub string) bool {
	ip, ok := inv.Pub(pub)
	return ok && ip.Hub != ""
}

// runsElsewhere is a hub other than the pub's own where a container of the
// pub runs ("" if none): starting the pub on its own hub as well would run
// its identity twice. A move killed before it wrote the inventory leaves
// the pub running on its target.
func runsElsewhere(ip inventory.Pub, snap *Snapshot) string {
	for _, h := range snap.Hubs {
		c := h.Container(ip.Name)
		if h.Name != ip.Hub && c != nil && (c.State == string(container.StateRunning) || c.State == string(container.StateRestarting) || c.State == string(container.StatePaused)) {
			return h.Name
		}
	}
	return ""
}

// moveInstead finds the data of a pub missing on its hub on another hub:
// creating it where the inventory says would give it a new identity.
func (p *Plan) moveInstead(ip inventory.Pub, snap *Snapshot) (Action, bool) {
	for _, h := range snap.Hubs {
		if h.Name == ip.Hub || !h.Reachable || (h.Container(ip.Name) == nil && !h.HasVolume(ip.Name)) {
			continue
		}
		return Action{
			Kind: ActionMove, Pub: ip.Name, Hub: ip.Hub,
			Reason:  fmt.Sprintf("its data (and identity) is on hub %s", h.Name),
			Blocked: fmt.Sprintf("move it with its identity ('buttctl pub move %s --to %s'), or set its hub back to %s", ip.Name, ip.Hub, h.Name),
		}, true
	}
	return Action{}, false
}

// orphans plans the removal of orphan containers (with Prune), or keeps
// them; the container of a pub whose move is pending is kept either way.
func (p *Plan) orphans(snap *Snapshot, opts PlanOptions, sel func(string) bool, moving map[string]bool) {
	for _, o := range snap.Orphans {
		if !sel(o.Container.Pub) {
			continue
		}
		if !opts.Prune || moving[o.Container.Pub] {
			p.Kept = append(p.Kept, o)
			continue
		}
		a := Action{Kind: ActionRemove, Hub: o.Hub, Pub: o.Container.Pub, Container: o.Container.ID, Reason: "orphan: not in the inventory"}
		if o.InInventory {
			a.Reason = "orphan: the inventory places it elsewhere"
		}
		if o.Container.Name != pubspec.ContainerName(o.Container.Pub) {
			a.Reason = "orphan: a second container claims the pub (" + o.Container.Name + ")"
		}
		if opts.Purge && !o.InInventory && o.HasVolume {
			a.Volume = pubspec.VolumeName(o.Container.Pub)
			a.Reason += "; its data volume and identity are deleted"
		}
		p.Actions = append(p.Actions, a)
	}
	if !opts.Prune || !opts.Purge {
		return
	}
	// Volumes without a container, of pubs the inventory does not know.
	for _, h := range snap.Hubs {
		for _, v := range h.Volumes {
			if !sel(v.Pub) || h.Container(v.Pub) != nil || slices.ContainsFunc(snap.Pubs, func(sp Pub) bool { return sp.Name == v.Pub }) {
				continue
			}
			p.Actions = append(p.Actions, Action{Kind: ActionRemove, Hub: h.Name, Pub: v.Pub, Volume: v.Name, Reason: "orphan data volume: not in the inventory; its identity is deleted"})
		}
	}
}

// cloud plans for hubs whose server the cloud does not have.
func (p *Plan) cloud(inv *inventory.Inventory, snap *Snapshot) {
	if snap.Cloud == nil {
		return
	}
	if snap.Cloud.Error != "" {
		p.Warnings = append(p.Warnings, "cloud "+snap.Cloud.Name+" could not be asked: "+snap.Cloud.Error)
		return
	}
	for _, h := range snap.Hubs {
		if h.Local {
			continue
		}
		if h.Server == nil {
			ih, _ := inv.Hub(h.Name)
			reason := "no server in the cloud carries its name"
			if ih != nil && ih.ServerID != "" {
				reason = "server " + ih.ServerID + " is not in the cloud"
			}
			p.Actions = append(p.Actions, Action{Kind: ActionCreateHub, Hub: h.Name, Reason: reason, Blocked: "create it with 'buttctl hub create " + h.Name + "'"})
			continue
		}
		if h.Server.Status != "ACTIVE" {
			p.Warnings = append(p.Warnings, fmt.Sprintf("hub %s: server %s is %s", h.Name, h.Server.ID, h.Server.Status))
		}
	}
}
