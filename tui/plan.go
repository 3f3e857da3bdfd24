package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/tui/render"
)

// planView shows what would make the fleet match the inventory, and the
// progress of each step while applying.
type planView struct {
	st       *Styles
	table    *table
	steps    []render.PlanStep
	applying bool
	next     int
	summary  string
}

func newPlanView(st *Styles) *planView {
	return &planView{st: st, table: newTable(render.PlanColumns, "nothing to do: the fleet is as the inventory asks")}
}

func (p *planView) running() bool { return p.applying }

// planStepDoneMsg says how one step of an apply went.
type planStepDoneMsg struct {
	index int
	err   error
}

// planFrom derives the plan from what the console observed: the pubs that
// are not as the inventory asks, and the containers it does not know.
func planFrom(inv *inventory.Inventory, pubs map[string]*pubState, hubs map[string]*hubState, hubOrder []string) []render.PlanStep {
	var steps []render.PlanStep
	names := make([]string, 0, len(pubs))
	for n := range pubs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		ps := pubs[name]
		o := ps.obs
		s := render.PlanStep{Pub: name, Hub: ps.inv.Hub}
		switch {
		case o.Status == fleet.StatusUnplaced:
			s.Op, s.Action, s.Why, s.Manual = "+", "place", "no hub yet: 'buttctl apply' places it", true
		case o.Status == fleet.StatusMissing:
			s.Op, s.Action, s.Why = "+", "create", "no container on its hub"
			if o.HasVolume {
				s.Why += " (its volume and identity are kept)"
			}
		case o.Status == fleet.StatusDown:
			s.Op, s.Action, s.Why = "~", "start", "not running: "+containerState(o)
		case o.Want == inventory.StateStopped && o.Container != nil && o.Container.State == "running":
			s.Op, s.Action, s.Why = "~", "stop", "running, but the inventory says stopped"
		case o.Drift:
			s.Op, s.Action, s.Why, s.Manual = "~", "recreate", "its spec changed: 'buttctl apply' recreates it", true
		default:
			continue
		}
		steps = append(steps, s)
	}
	for _, h := range hubOrder {
		for _, o := range hubs[h].orphans {
			why := "not in the inventory"
			if o.InInventory {
				why = "the inventory places it elsewhere"
			}
			steps = append(steps, render.PlanStep{Op: "-", Action: "orphan", Pub: o.Container.Pub, Hub: h,
				Why: why + ": 'buttctl apply --prune' removes it", Manual: true})
		}
	}
	for i := range steps {
		steps[i].Index = i
	}
	return steps
}

func containerState(o fleet.Pub) string {
	if o.Container == nil {
		return "no container"
	}
	return o.Container.State
}

// refreshPlan re-derives the plan when the fleet changed (not while
// applying: the steps under way stay on screen).
func (m *Model) refreshPlan() {
	p := m.plan
	if !m.planDirty || p.applying {
		return
	}
	m.planDirty = false
	p.steps = planFrom(m.inv, m.pubs, m.hubs, m.hubOrder)
	p.summary = render.PlanSummary(p.steps)
	p.setRows(m.spinner())
}

func (p *planView) setRows(spinner string) {
	rows := make([]render.Row, len(p.steps))
	for i, s := range p.steps {
		rows[i] = render.PlanRow(s, spinner)
	}
	p.table.set(rows)
}

// Render draws the plan: a summary line, then the steps.
func (p *planView) Render(w, h int) []string {
	st := p.st
	head := " " + st.HelpKey.Render("Plan") + st.Muted.Render(" · ") + p.summary
	if p.applying {
		head += st.Muted.Render(fmt.Sprintf(" · applying %d/%d", p.next, len(p.steps)))
	} else if p.auto() > 0 {
		head += st.Muted.Render(fmt.Sprintf(" · a applies the %d steps marked pending", p.auto()))
	}
	out := []string{fitLine(head, w)}
	return append(out, p.table.render(w, h-2, st)...)
}

// auto counts the steps the console can carry out.
func (p *planView) auto() int {
	n := 0
	for _, s := range p.steps {
		if !s.Manual && s.State == "" {
			n++
		}
	}
	return n
}

func (m *Model) planKey(msg tea.KeyPressMsg) tea.Cmd {
	if key.Matches(msg, m.keys.Apply) {
		m.refreshPlan()
		n := m.plan.auto()
		if n == 0 {
			m.fail(fmt.Errorf("nothing the console can apply: %s", m.plan.summary))
			return nil
		}
		var what []string
		for _, s := range m.plan.steps {
			if !s.Manual && s.State == "" && len(what) < 8 {
				what = append(what, s.Op+" "+s.Action+" "+s.Pub+" on "+s.Hub)
			}
		}
		if n > len(what) {
			what = append(what, fmt.Sprintf("… and %d more", n-len(what)))
		}
		m.confirm(action{kind: actApply}, fmt.Sprintf("Apply %d steps of the plan?", n), strings.Join(what, "\n"))
		return nil
	}
	if cmd, ok := m.listKey(msg); ok {
		return cmd
	}
	return nil
}

// applyPlan carries the plan's steps out one after the other, showing each
// one's progress.
func (m *Model) applyPlan() tea.Cmd {
	p := m.plan
	if p.applying {
		return nil
	}
	p.applying, p.next = true, 0
	return tea.Batch(m.applyNext(), m.startSpinner())
}

func (m *Model) applyNext() tea.Cmd {
	p := m.plan
	for p.next < len(p.steps) && (p.steps[p.next].Manual || p.steps[p.next].State != "") {
		p.next++
	}
	if p.next >= len(p.steps) {
		p.applying = false
		m.planDirty = true
		m.say("plan applied")
		m.addEvent(render.Event{Time: m.now(), Source: "console", Action: "apply", Detail: p.summary, Tone: render.ToneOK})
		return m.observeAll()
	}
	i := p.next
	s := &p.steps[i]
	s.State = "running"
	p.table.upsert(render.PlanRow(*s, m.spinner()))
	b := m.be
	kind := actionKind(s.Action)
	pub := s.Pub
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		var err error
		switch kind {
		case actCreate:
			_, err = b.svc.Create(ctx, pub)
		case actStart:
			_, err = b.svc.Start(ctx, pub)
		case actStop:
			_, err = b.svc.Stop(ctx, pub)
		default:
			err = fmt.Errorf("%s is not something the console applies", kind)
		}
		return planStepDoneMsg{index: i, err: err}
	}
}

// planStepDone records a step's outcome and goes on with the next.
func (m *Model) planStepDone(msg planStepDoneMsg) tea.Cmd {
	p := m.plan
	if msg.index >= len(p.steps) {
		return nil
	}
	s := &p.steps[msg.index]
	ev := render.Event{Time: m.now(), Source: "console", Hub: s.Hub, Pub: s.Pub, Action: "apply " + s.Action}
	if msg.err != nil {
		s.State, s.Err = "failed", msg.err.Error()
		ev.Tone, ev.Detail = render.ToneBad, s.Err
	} else {
		s.State = "done"
		ev.Tone = render.ToneOK
	}
	m.addEvent(ev)
	p.table.upsert(render.PlanRow(*s, m.spinner()))
	p.next++
	return m.applyNext()
}
