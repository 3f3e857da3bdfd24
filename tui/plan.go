package tui

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/tui/render"
)

// planView shows what would make the fleet match the inventory (fleet's
// plan of what the console last saw), and each step's progress while
// applying.
type planView struct {
	st       *Styles
	table    *table
	plan     *fleet.Plan
	steps    []render.PlanStep
	applying bool
	summary  string
	notes    []string // kept orphans, unreachable hubs, warnings
	// the apply under way's report and error, once they came
	report *fleet.Report
	err    error
}

func newPlanView(st *Styles) *planView {
	return &planView{st: st, table: newTable(render.PlanColumns, "nothing to do: the fleet is as the inventory asks")}
}

func (p *planView) running() bool { return p.applying }

// snapshot assembles what the console has seen of every hub as one
// fleet snapshot, for fleet.NewPlan.
func (m *Model) snapshot() *fleet.Snapshot {
	snap := &fleet.Snapshot{Taken: m.now()}
	for _, name := range m.hubOrder {
		hs := m.hubs[name]
		if hs.obs != nil {
			snap.Hubs = append(snap.Hubs, *hs.obs)
		} else {
			snap.Hubs = append(snap.Hubs, fleet.Hub{Name: name, Error: name + ": not looked at yet"})
		}
		snap.Orphans = append(snap.Orphans, hs.orphans...)
	}
	for _, p := range m.inv.Pubs {
		if ps, ok := m.pubs[p.Name]; ok {
			snap.Pubs = append(snap.Pubs, ps.obs)
		}
	}
	return snap
}

// planSteps turns a plan into the view's rows.
func planSteps(plan *fleet.Plan) []render.PlanStep {
	steps := make([]render.PlanStep, len(plan.Actions))
	for i, a := range plan.Actions {
		why := a.Reason
		if len(a.Changes) > 0 {
			var ch []string
			for _, c := range a.Changes {
				ch = append(ch, c.String())
			}
			why += ": " + strings.Join(ch, ", ")
		}
		if a.Blocked != "" {
			why = a.Blocked
		}
		steps[i] = render.PlanStep{Op: a.Kind.Marker(), Action: string(a.Kind), Pub: a.Pub, Hub: a.Hub, Why: why, Manual: a.Blocked != "", Index: i}
	}
	return steps
}

// planNotes are what the plan says besides its actions.
func planNotes(plan *fleet.Plan) []string {
	var out []string
	for _, o := range plan.Kept {
		out = append(out, fmt.Sprintf("kept: container of %s on %s, which the inventory does not place there ('buttctl apply --prune' removes it)", o.Container.Pub, o.Hub))
	}
	return append(out, plan.Warnings...)
}

// refreshPlan plans again from what the console saw, unless applying (the
// steps under way stay on screen).
func (m *Model) refreshPlan() {
	p := m.plan
	if !m.planDirty || p.applying {
		return
	}
	m.planDirty = false
	p.plan = fleet.NewPlan(m.inv, m.snapshot(), fleet.PlanOptions{})
	p.steps = planSteps(p.plan)
	p.notes = planNotes(p.plan)
	p.summary = planSummary(p.plan)
	p.setRows(m.spinner())
}

func planSummary(plan *fleet.Plan) string {
	if plan.Empty() {
		return "nothing to do: the fleet is as the inventory asks, as far as it was seen"
	}
	s := plural(plan.Pending(), "action") + " to apply"
	if b := plan.Blocked(); b > 0 {
		s += fmt.Sprintf(", %d needing you", b)
	}
	return s
}

func (p *planView) setRows(spinner string) {
	rows := make([]render.Row, len(p.steps))
	for i, s := range p.steps {
		rows[i] = render.PlanRow(s, spinner)
	}
	p.table.set(rows)
}

// Render draws the plan: a summary line, the steps, and what else it says.
func (p *planView) Render(w, h int) []string {
	st := p.st
	head := " " + st.HelpKey.Render("Plan") + st.Muted.Render(" · ") + p.summary
	if p.applying {
		done := 0
		for _, s := range p.steps {
			if s.State != "" && s.State != "running" {
				done++
			}
		}
		head += st.Muted.Render(fmt.Sprintf(" · applying: %d of %d done", done, len(p.steps)))
	} else if p.plan != nil && p.plan.Pending() > 0 {
		head += st.Muted.Render(" · a applies it")
	}
	out := []string{fitLine(head, w)}
	notes := p.notes
	if room := h / 4; len(notes) > room {
		notes = append(notes[:max(0, room-1)], fmt.Sprintf("… and %d more notes", len(notes)-room+1))
	}
	out = append(out, p.table.render(w, h-2-len(notes), st)...)
	for _, n := range notes {
		out = append(out, fitLine(" "+st.Tone(render.ToneWarn, "! "+n), w))
	}
	return out
}

func (m *Model) planKey(msg tea.KeyPressMsg) tea.Cmd {
	if key.Matches(msg, m.keys.Apply) {
		if m.opts.ReadOnly {
			m.fail(fmt.Errorf("apply refused: %w", errReadOnly))
			return nil
		}
		m.planDirty = true
		m.refreshPlan()
		plan := m.plan.plan
		if plan == nil || plan.Pending() == 0 {
			m.fail(fmt.Errorf("nothing to apply: %s", m.plan.summary))
			return nil
		}
		var what []string
		for _, a := range plan.Actions {
			if a.Blocked == "" && len(what) < 8 {
				what = append(what, a.String())
			}
		}
		if n := plan.Pending(); n > len(what) {
			what = append(what, fmt.Sprintf("… and %d more", n-len(what)))
		}
		m.confirm(action{kind: actApply, to: planSignature(plan)}, fmt.Sprintf("Apply %s?", plural(plan.Pending(), "action")), strings.Join(what, "\n"),
			"The fleet is looked at again first: if it changed since, nothing is done and the new plan is shown.")
		return nil
	}
	if cmd, ok := m.listKey(msg); ok {
		return cmd
	}
	return nil
}

// planSignature identifies a plan's pending actions, so that an apply
// carries out what was confirmed or nothing.
func planSignature(plan *fleet.Plan) string {
	var s []string
	for _, a := range plan.Actions {
		if a.Blocked == "" {
			s = append(s, string(a.Kind)+" "+a.Hub+" "+a.Pub)
		}
	}
	sort.Strings(s)
	return strings.Join(s, "\n")
}

// applyMsg is what an apply under way reports: the plan it carries out,
// then each result, then its report.
type applyMsg struct {
	plan    *fleet.Plan
	results []fleet.Result
	report  *fleet.Report
	err     error
	open    bool
	box     *mailbox[applyMsg]
}

// applyPlan carries the confirmed plan out the way 'buttctl apply' does:
// under the inventory lock, it looks at the fleet again, plans, and applies
// if the plan is the one confirmed; each result shows as it comes.
func (m *Model) applyPlan(signature string) tea.Cmd {
	p := m.plan
	if p.applying {
		return nil
	}
	p.applying = true
	b, path := m.be, m.inv.Path
	box := newMailbox[applyMsg](1024)
	go func() {
		defer box.close()
		ctx := context.Background()
		if path != "" {
			unlock, err := inventory.Lock(ctx, path, inventory.LockOptions{Wait: 10 * time.Second, Purpose: "buttctl console apply"})
			if err != nil {
				box.put(applyMsg{err: err})
				return
			}
			defer unlock()
		}
		octx, cancel := context.WithTimeout(ctx, fleet.DefaultTimeout+5*time.Second)
		snap := fleet.Observe(octx, b.svc, fleet.ObserveOptions{})
		cancel()
		plan := fleet.NewPlan(b.inv, snap, fleet.PlanOptions{})
		box.put(applyMsg{plan: plan})
		if planSignature(plan) != signature {
			box.put(applyMsg{err: errors.New("the fleet changed since the plan was shown: nothing was applied; look at the new plan and apply again")})
			return
		}
		report := fleet.Apply(ctx, b.svc, plan, fleet.ApplyOptions{
			Purpose:  "buttctl console apply",
			OnResult: func(r fleet.Result) { box.put(applyMsg{results: []fleet.Result{r}}) },
		})
		box.put(applyMsg{report: report, err: report.Err()})
	}()
	return tea.Batch(takeApply(box), m.startSpinner())
}

// takeApply waits for what the apply reports next.
func takeApply(box *mailbox[applyMsg]) tea.Cmd {
	return func() tea.Msg {
		items, _, open := box.take(context.Background())
		out := applyMsg{open: open, box: box}
		for _, it := range items {
			if it.plan != nil {
				out.plan = it.plan
			}
			out.results = append(out.results, it.results...)
			if it.report != nil {
				out.report = it.report
			}
			if it.err != nil {
				out.err = it.err
			}
		}
		return out
	}
}

// applied takes what an apply reported.
func (m *Model) applied(msg applyMsg) tea.Cmd {
	p := m.plan
	if msg.plan != nil {
		p.plan = msg.plan
		p.steps = planSteps(msg.plan)
		p.notes = planNotes(msg.plan)
		p.summary = planSummary(msg.plan)
		for i := range p.steps {
			if !p.steps[i].Manual {
				p.steps[i].State = "running"
			}
		}
		p.setRows(m.spinner())
	}
	for _, r := range msg.results {
		for i := range p.steps {
			s := &p.steps[i]
			if s.Action == string(r.Action.Kind) && s.Hub == r.Action.Hub && s.Pub == r.Action.Pub {
				s.State, s.Err = string(r.Status), r.Error
				p.table.upsert(render.PlanRow(*s, m.spinner()))
			}
		}
		if m.opts.Audit != nil { // the Events view shows its record
			continue
		}
		ev := render.Event{Time: m.now(), Source: "console", Hub: r.Action.Hub, Pub: r.Action.Pub, Action: "apply " + string(r.Action.Kind), Detail: string(r.Status), Tone: render.ToneOK}
		if r.Error != "" {
			ev.Detail, ev.Tone = r.Error, render.ToneBad
		}
		m.addEvent(ev)
	}
	if msg.report != nil {
		p.report = msg.report
	}
	if msg.err != nil {
		p.err = msg.err
	}
	if msg.open { // the report may come before the end of the stream
		return takeApply(msg.box)
	}
	report, err := p.report, p.err
	p.report, p.err = nil, nil
	p.applying = false
	for i := range p.steps {
		if p.steps[i].State == "running" {
			p.steps[i].State = ""
		}
	}
	p.setRows(m.spinner())
	m.planDirty = true
	switch {
	case err != nil:
		m.fail(fmt.Errorf("apply: %w", err))
	case report != nil:
		m.say("applied: %d done, %d failed, %d skipped, %d blocked", report.Done, report.Failed, report.Skipped, report.Blocked)
	default:
		m.fail(errors.New("apply ended without a report"))
	}
	if report != nil {
		m.addEvent(render.Event{Time: m.now(), Source: "console", Action: "apply",
			Detail: fmt.Sprintf("%d done, %d failed, %d skipped, %d blocked", report.Done, report.Failed, report.Skipped, report.Blocked),
			Tone:   map[bool]render.Tone{true: render.ToneOK, false: render.ToneBad}[err == nil]})
	}
	return tea.Batch(m.reloadInventory("console"), m.observeAll())
}
