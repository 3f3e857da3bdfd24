package tui

import (
	"errors"
	"fmt"
	"sort"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// handleKey routes a key: to the dialog, the help screen or the input line
// when one is open, else to the global keys, then to the view's.
func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	if m.dialog != nil {
		r := m.dialog.Update(msg)
		if r.close {
			m.dialog = r.next
		}
		var cmds []tea.Cmd
		if r.act != nil {
			cmds = append(cmds, m.do(*r.act))
		}
		return tea.Batch(append(cmds, r.cmd)...)
	}
	if m.showHelp {
		m.showHelp = false
		return nil
	}
	if m.inputKind != inputNone {
		return m.handleInput(msg)
	}
	k := &m.keys
	if m.opts.ReadOnly && m.view != viewLogs {
		for _, b := range append(k.mutating(), &k.Invite) {
			if keyIs(msg, *b) {
				m.fail(fmt.Errorf("%s refused: %w", b.Help().Desc, errReadOnly))
				return nil
			}
		}
	}
	switch {
	case key.Matches(msg, k.Quit):
		m.quitting = true
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = true
		return nil
	case key.Matches(msg, k.Command):
		m.openInput(inputCommand, "")
		return nil
	case key.Matches(msg, k.NextView):
		m.cycleView(1)
		return nil
	case key.Matches(msg, k.PrevView):
		m.cycleView(-1)
		return nil
	}
	switch m.view {
	case viewLogs:
		return m.logsKey(msg)
	case viewDetail:
		return m.detailKey(msg)
	case viewPlan:
		return m.planKey(msg)
	}
	if cmd, ok := m.listKey(msg); ok {
		return cmd
	}
	switch m.view {
	case viewHubs:
		return m.hubsKey(msg)
	case viewPubs:
		return m.pubsKey(msg)
	case viewEvents:
		return m.eventsKey(msg)
	}
	return nil
}

// listKey handles what every list does: moving, filtering, sorting, back.
func (m *Model) listKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	t := m.currentTable()
	if t == nil {
		return nil, false
	}
	k := &m.keys
	switch {
	case key.Matches(msg, k.Up):
		t.moveBy(-1)
	case key.Matches(msg, k.Down):
		t.moveBy(1)
	case key.Matches(msg, k.PageUp):
		t.pageUp()
	case key.Matches(msg, k.PageDown):
		t.pageDown()
	case key.Matches(msg, k.Top):
		t.top()
	case key.Matches(msg, k.Bottom):
		t.bottom()
	case key.Matches(msg, k.Filter):
		m.openInput(inputFilter, t.flt.raw)
	case key.Matches(msg, k.Sort):
		m.sortByShown(t, int(msg.String()[0]-'1'))
	case key.Matches(msg, k.Back):
		return m.goBack(), true
	default:
		return nil, false
	}
	return nil, true
}

// sortByShown sorts by the n-th column on screen.
func (m *Model) sortByShown(t *table, n int) {
	seen := 0
	for i, w := range t.widths {
		if w == 0 && t.widths != nil {
			continue
		}
		if seen == n {
			t.sortBy(i)
			m.say("sorted by %s", t.cols[i].Title)
			return
		}
		seen++
	}
	if t.widths == nil {
		t.sortBy(n)
	}
}

func (m *Model) hubsKey(msg tea.KeyPressMsg) tea.Cmd {
	k := &m.keys
	switch {
	case key.Matches(msg, k.Enter):
		if hub := m.hubTable.selected(); hub != "" {
			m.setScope(hub)
			m.switchTo(viewPubs)
		}
	case key.Matches(msg, k.Logs):
		if hub := m.hubTable.selected(); hub != "" {
			names := m.pubsOn(hub)
			if len(names) == 0 {
				m.fail(fmt.Errorf("hub %s has no pubs", hub))
				return nil
			}
			return m.openLogs(names)
		}
	case key.Matches(msg, k.New):
		m.newHubForm()
	case key.Matches(msg, k.Delete):
		return m.hubAction(actDeleteHub)
	case key.Matches(msg, k.Reboot):
		return m.hubAction(actReboot)
	}
	return nil
}

func (m *Model) pubsKey(msg tea.KeyPressMsg) tea.Cmd {
	k := &m.keys
	switch {
	case key.Matches(msg, k.Enter):
		if name := m.pubTable.selected(); name != "" {
			return m.openDetail(name)
		}
	case key.Matches(msg, k.Group):
		m.pubTable.setGrouped(!m.pubTable.grouped)
		if m.pubTable.grouped {
			m.say("grouped by hub (H again to ungroup)")
		}
	case key.Matches(msg, k.Mark):
		if ps, ok := m.selectedPub(); ok {
			ps.marked = !ps.marked
			m.updatePub(ps.inv.Name)
			m.pubTable.moveBy(1)
		}
	case key.Matches(msg, k.New):
		m.newPubForm()
	case key.Matches(msg, k.Logs):
		var names []string
		for _, name := range m.sortedPubNames() {
			if m.pubs[name].marked {
				names = append(names, name)
			}
		}
		if len(names) == 0 {
			if name := m.pubTable.selected(); name != "" {
				names = []string{name}
			}
		}
		if len(names) > 0 {
			return m.openLogs(names)
		}
	default:
		return m.pubKey(msg)
	}
	return nil
}

// pubKey handles the keys that act on one pub (the Pubs and detail views).
func (m *Model) pubKey(msg tea.KeyPressMsg) tea.Cmd {
	k := &m.keys
	switch {
	case key.Matches(msg, k.Restart):
		return m.pubAction(actRestart)
	case key.Matches(msg, k.StartStop):
		return m.pubAction(actStart)
	case key.Matches(msg, k.Kill):
		return m.pubAction(actKill)
	case key.Matches(msg, k.Delete):
		return m.pubAction(actDelete)
	case key.Matches(msg, k.Invite):
		return m.pubAction(actInvite)
	case key.Matches(msg, k.Whoami):
		if ps, ok := m.selectedPub(); ok {
			m.say("asking %s who it is…", ps.inv.Name)
			return m.whoamiPub(ps.inv.Name)
		}
	case key.Matches(msg, k.Logs):
		if ps, ok := m.selectedPub(); ok {
			return m.openLogs([]string{ps.inv.Name})
		}
	case key.Matches(msg, k.Move):
		return m.movePicker()
	case key.Matches(msg, k.Backup):
		return m.backupPub()
	}
	return nil
}

func (m *Model) eventsKey(msg tea.KeyPressMsg) tea.Cmd {
	if key.Matches(msg, m.keys.Enter) {
		r, ok := m.eventTable.get(m.eventTable.selected())
		if ok && len(r.Cells) > 3 {
			if _, ok := m.pubs[r.Cells[3].Text]; ok {
				return m.openDetail(r.Cells[3].Text)
			}
		}
	}
	return nil
}

// movePicker opens the hub picker of m.
func (m *Model) movePicker() tea.Cmd {
	ps, ok := m.selectedPub()
	if !ok {
		return m.failCmd(errors.New("no pub selected"))
	}
	if m.opts.IdentityStore == nil {
		return m.failCmd(fmt.Errorf("move pub %s: this console has no identity store to journal the move in", ps.inv.Name))
	}
	if ps.inv.Hub == "" {
		return m.failCmd(fmt.Errorf("pub %s has no hub yet: nothing to move (the plan places it)", ps.inv.Name))
	}
	var opts []pickOption
	for _, h := range m.hubOrder {
		hs := m.hubs[h]
		o := pickOption{label: h, value: h}
		placed := len(m.inv.PubsOn(h))
		switch {
		case h == ps.inv.Hub:
			o.disabled, o.note = true, "its hub now"
		case hs.obs != nil && !hs.obs.Reachable:
			o.disabled, o.note = true, "unreachable"
		case hs.inv.Capacity > 0 && placed >= hs.inv.Capacity:
			o.disabled, o.note = true, fmt.Sprintf("full (%d/%d)", placed, hs.inv.Capacity)
		case hs.inv.Capacity > 0:
			o.note = fmt.Sprintf("%d/%d pubs", placed, hs.inv.Capacity)
		default:
			o.note = fmt.Sprintf("%d pubs", placed)
		}
		opts = append(opts, o)
	}
	p := &pickerDialog{st: &m.styles, keys: &m.keys, title: "Move pub " + ps.inv.Name + " to…", options: opts,
		lines: []string{"Its identity (secret key) and data go with it; it runs on one hub only at any time."}}
	for i, o := range opts {
		if !o.disabled {
			p.cursor = i
			break
		}
	}
	name, from := ps.inv.Name, ps.inv.Hub
	p.choose = func(to string) dialogResult {
		a := action{kind: actMove, pub: name, hub: from, to: to}
		return dialogResult{close: true, next: &confirmDialog{st: &m.styles, keys: &m.keys, danger: true, yes: "move", act: a,
			title: fmt.Sprintf("Move pub %s from %s to %s?", name, from, to),
			lines: []string{"It is stopped on " + from + ", its data volume is copied to " + to + " and checked, then it starts there with the same identity."}}}
	}
	m.dialog = p
	return nil
}

// backupPub backs a pub's identity up.
func (m *Model) backupPub() tea.Cmd {
	ps, ok := m.selectedPub()
	if !ok {
		return m.failCmd(errors.New("no pub selected"))
	}
	if m.opts.IdentityStore == nil || m.opts.BackupDir == "" {
		return m.failCmd(fmt.Errorf("backup pub %s: this console has no identity store or backup directory", ps.inv.Name))
	}
	return m.do(action{kind: actBackup, pub: ps.inv.Name, hub: ps.inv.Hub})
}

// currentTable is the list the keys move in.
func (m *Model) currentTable() *table {
	switch m.view {
	case viewHubs:
		return m.hubTable
	case viewPubs:
		return m.pubTable
	case viewEvents:
		return m.eventTable
	case viewPlan:
		return m.plan.table
	}
	return nil
}

// switchTo shows a view, remembering where esc goes back to.
func (m *Model) switchTo(v view) {
	if v == m.view {
		return
	}
	m.back = append(m.back, m.view)
	if len(m.back) > 32 {
		m.back = m.back[1:]
	}
	m.view = v
	if v == viewPlan {
		m.planDirty = true
	}
}

// goBack is esc: clear the filter, then the hub scope, then the last view.
func (m *Model) goBack() tea.Cmd {
	if t := m.currentTable(); t != nil && t.flt.active() {
		t.setFilter("")
		return nil
	}
	if m.view == viewPubs && m.scope != "" {
		hub := m.scope
		m.setScope("")
		m.view = viewHubs
		m.hubTable.selectKey(hub)
		return nil
	}
	for len(m.back) > 0 {
		v := m.back[len(m.back)-1]
		m.back = m.back[:len(m.back)-1]
		if v != m.view {
			m.view = v
			return nil
		}
	}
	return nil
}

// cycleView moves along the tabs.
func (m *Model) cycleView(n int) {
	cur := 0
	for i, t := range tabs {
		if t.v == m.view || (m.view == viewDetail && t.v == viewPubs) {
			cur = i
		}
	}
	next := tabs[(cur+n+len(tabs))%len(tabs)].v
	m.switchTo(next)
}

// setScope shows only one hub's pubs ("" for all).
func (m *Model) setScope(hub string) {
	if hub == m.scope {
		return
	}
	m.scope = hub
	m.rebuildRows()
}

// sortedPubNames lists the pubs by name.
func (m *Model) sortedPubNames() []string {
	out := make([]string, 0, len(m.pubs))
	for name := range m.pubs {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// handleClick selects what was clicked: a tab, a column to sort by, a row;
// a click on the selected row opens it.
func (m *Model) handleClick(mo tea.Mouse) tea.Cmd {
	if m.dialog != nil || m.showHelp || mo.Button != tea.MouseLeft {
		return nil
	}
	if mo.Y == 0 {
		for _, r := range m.tabRanges() {
			if mo.X >= r.from && mo.X < r.to {
				m.switchTo(r.v)
				return nil
			}
		}
		return nil
	}
	t := m.currentTable()
	if t == nil {
		return nil
	}
	top := m.bodyTop()
	if mo.Y == top { // the column titles
		if c := t.columnAt(mo.X); c >= 0 {
			t.sortBy(c)
		}
		return nil
	}
	before := t.selected()
	if !t.clickLine(mo.Y - top - 1) {
		return nil
	}
	if t.selected() == before {
		return m.handleKey(tea.KeyPressMsg{Code: tea.KeyEnter})
	}
	return nil
}

// handleWheel scrolls what is under the pointer.
func (m *Model) handleWheel(mo tea.Mouse) {
	n := 0
	switch mo.Button {
	case tea.MouseWheelUp:
		n = -3
	case tea.MouseWheelDown:
		n = 3
	default:
		return
	}
	switch m.view {
	case viewLogs:
		m.logs.scroll(n)
	case viewDetail:
		if m.detail != nil {
			m.detail.scroll(n)
		}
	default:
		if t := m.currentTable(); t != nil {
			t.moveBy(n)
		}
	}
}
