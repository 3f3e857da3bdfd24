package tui

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/watch"
	"github.com/buttctl/buttctl/tui/render"
)

// errReadOnly is what --read-only says to every action.
var errReadOnly = errors.New("read-only console (--read-only): actions are off")

// do starts an action the operator confirmed.
func (m *Model) do(a action) tea.Cmd {
	if m.opts.ReadOnly {
		m.fail(fmt.Errorf("%s %s refused: %w", a.kind, a.object(), errReadOnly))
		return nil
	}
	switch a.kind {
	case actInvite:
		m.say("creating an invite on %s…", a.pub)
		return m.invitePub(a.pub)
	case actApply:
		return m.applyPlan(a.to)
	}
	if ps := m.pubs[a.pub]; ps != nil && a.kind != actNewHub && a.kind != actDeleteHub && a.kind != actReboot {
		ps.busy, ps.err = a.verbing(), ""
		m.updatePub(a.pub)
	}
	if hs := m.hubs[a.hub]; hs != nil && (a.kind == actDeleteHub || a.kind == actReboot) {
		hs.busy, hs.err = a.verbing(), ""
		m.updateHub(a.hub)
	}
	m.say("%s %s…", a.verbing(), a.object())
	return tea.Batch(m.run(a), m.startSpinner())
}

// actionDone takes the outcome of an action.
func (m *Model) actionDone(msg actionDoneMsg) tea.Cmd {
	a := msg.act
	if ps := m.pubs[a.pub]; ps != nil {
		ps.busy = ""
		if msg.err != nil {
			ps.err = msg.err.Error()
		}
		m.updatePub(a.pub)
	}
	if hs := m.hubs[a.hub]; hs != nil {
		hs.busy = ""
		if msg.err != nil && (a.kind == actDeleteHub || a.kind == actReboot) {
			hs.err = msg.err.Error()
		}
		m.updateHub(a.hub)
	}
	ev := render.Event{Time: m.now(), Source: "console", Hub: a.hub, Pub: a.pub, Action: string(a.kind)}
	if ev.Hub == "" {
		if ps := m.pubs[a.pub]; ps != nil {
			ev.Hub = ps.inv.Hub
		}
	}
	if msg.err != nil {
		ev.Tone, ev.Detail = render.ToneBad, msg.err.Error()
		m.fail(msg.err)
	} else {
		ev.Tone, ev.Detail = render.ToneOK, msg.result
		m.say("%s", msg.result)
	}
	if m.opts.Audit == nil { // else the Events view shows its record
		m.addEvent(ev)
	}
	var cmds []tea.Cmd
	switch a.kind {
	case actDelete, actNewPub, actNewHub, actDeleteHub, actMove:
		cmds = append(cmds, m.reloadInventory("console"))
	}
	if hub := ev.Hub; hub != "" && msg.gen == m.gen {
		cmds = append(cmds, m.observeHub(hub))
	}
	return tea.Batch(cmds...)
}

// inventoryChanged takes the inventory read again.
func (m *Model) inventoryChanged(msg inventoryMsg) tea.Cmd {
	if msg.err != nil {
		m.fail(fmt.Errorf("inventory changed but cannot be used (the console keeps the last good one): %w", msg.err))
		return nil
	}
	old := m.be
	m.gen++
	m.be = openBackend(msg.inv, m.gen, old, m.opts.Connect, m.logNotice, m.opts.Audit)
	if m.evCancel != nil {
		m.evCancel()
		m.evCancel = nil
	}
	for _, hs := range m.hubs {
		hs.inFlight, hs.queued, hs.stale = false, false, false
	}
	m.setInventory(msg.inv)
	if msg.why == "" {
		m.say("inventory changed on disk: reloaded")
	}
	m.invMod = m.now()
	return tea.Batch(
		m.observeAll(),
		m.gatherFacts(m.hubOrder),
		m.followEvents(),
		m.statInventory(),
		// the old backend's commands finish within their timeouts
		tea.Tick(actionTimeout+time.Minute, func(time.Time) tea.Msg { return closeBackendMsg{b: old} }),
	)
}

// invStat takes the inventory file's state.
func (m *Model) invStat(msg invStatMsg) tea.Cmd {
	if msg.err != nil {
		m.fail(msg.err)
		return nil
	}
	m.watch = msg.watch
	m.applyWatchState(msg.pubs)
	if m.invMod.IsZero() {
		m.invMod = msg.mod
		return nil
	}
	if msg.mod.After(m.invMod) {
		m.invMod = msg.mod
		return m.reloadInventory("")
	}
	return nil
}

// confirm opens a confirmation naming the action's object.
func (m *Model) confirm(a action, title string, lines ...string) {
	m.dialog = &confirmDialog{st: &m.styles, keys: &m.keys, title: title, lines: lines, yes: string(a.kind), danger: true, act: a}
}

// selectedPub is the pub the keys act on: the detail view's, or the row
// under the cursor.
func (m *Model) selectedPub() (*pubState, bool) {
	name := ""
	switch m.view {
	case viewDetail:
		if m.detail != nil {
			name = m.detail.pub
		}
	case viewPubs:
		name = m.pubTable.selected()
	}
	ps, ok := m.pubs[name]
	return ps, ok
}

// pubAction starts what a key asks of the selected pub, after confirming
// what cannot be taken back.
func (m *Model) pubAction(kind actionKind) tea.Cmd {
	ps, ok := m.selectedPub()
	if !ok {
		m.fail(errors.New("no pub selected"))
		return nil
	}
	name, hub := ps.inv.Name, ps.inv.Hub
	a := action{kind: kind, pub: name, hub: hub}
	where := "on hub " + hub
	if hub == "" {
		where = "(no hub yet)"
	}
	switch kind {
	case actRestart:
		m.confirm(a, fmt.Sprintf("Restart pub %s %s?", name, where),
			"Its container is stopped and started again; peers reconnect.")
	case actStart:
		switch ps.obs.Status {
		case fleet.StatusRunning, fleet.StatusStarting, fleet.StatusUnhealthy:
			a.kind = actStop
			m.confirm(a, fmt.Sprintf("Stop pub %s %s?", name, where),
				"It stays stopped until started again (s), or until watch heals it if the inventory wants it running.")
			return nil
		case fleet.StatusUnplaced:
			m.fail(fmt.Errorf("pub %s has no hub yet: the plan places it", name))
			return nil
		case fleet.StatusUnknown, "":
			m.fail(fmt.Errorf("pub %s: its hub %s has not answered; try again once it does", name, hub))
			return nil
		}
		return m.do(a)
	case actKill:
		m.confirm(a, fmt.Sprintf("Kill pub %s %s?", name, where),
			"SIGKILL, at once: the server gets no chance to shut down. watch (or Docker's restart policy after a crash) brings it back.")
	case actDelete:
		m.confirm(a, fmt.Sprintf("Delete pub %s %s?", name, where),
			"Its container is removed and the pub leaves the inventory.",
			"Its data volume, which holds its identity (secret key), is kept: add it back with the same name to get the same identity.")
	case actInvite:
		return m.do(a)
	}
	return nil
}

// showWhoami shows a pub's id.
func (m *Model) showWhoami(msg whoamiMsg) tea.Cmd {
	if msg.err != nil {
		m.fail(msg.err)
		return nil
	}
	if ps := m.pubs[msg.pub]; ps != nil {
		ps.identity = msg.id
		m.updatePub(msg.pub)
	}
	m.dialog = &infoDialog{st: &m.styles, title: "pub " + msg.pub + " is", lines: []string{msg.id}, copyText: msg.id}
	return tea.SetClipboard(msg.id)
}

// showInvite shows an invite and copies it to the clipboard (OSC 52).
func (m *Model) showInvite(msg inviteMsg) tea.Cmd {
	ev := render.Event{Time: m.now(), Source: "console", Pub: msg.pub, Action: "invite"}
	if ps := m.pubs[msg.pub]; ps != nil {
		ev.Hub = ps.inv.Hub
	}
	if msg.err != nil {
		ev.Tone, ev.Detail = render.ToneBad, msg.err.Error()
		m.addEvent(ev)
		m.fail(msg.err)
		return nil
	}
	ev.Tone, ev.Detail = render.ToneOK, "one-use invite created"
	m.addEvent(ev)
	m.say("invite for %s copied to the clipboard", msg.pub)
	m.dialog = &infoDialog{st: &m.styles, title: "Invite to pub " + msg.pub + " (one use)",
		lines: []string{msg.code, "", "Copied to the clipboard (OSC 52). Paste it into a Scuttlebutt client to join the pub."}, copyText: msg.code}
	return tea.SetClipboard(msg.code)
}

// newPubForm opens the form that adds a pub to the inventory and creates it.
func (m *Model) newPubForm() {
	if len(m.hubOrder) == 0 {
		m.fail(errors.New("the inventory has no hub to put a pub on: add one in the Hubs view (n)"))
		return
	}
	hub := m.hubOrder[0]
	if m.scope != "" {
		hub = m.scope
	} else if ps, ok := m.selectedPub(); ok && ps.inv.Hub != "" {
		hub = ps.inv.Hub
	}
	name := m.freePubName()
	f := &formDialog{st: &m.styles, title: "New pub"}
	add := func(label, value, hint string, choices []string) {
		ff := &formField{label: label, hint: hint, choices: choices}
		ff.in.limit = 253
		ff.in.set(value)
		f.fields = append(f.fields, ff)
	}
	add("name", name, "a DNS label: lowercase letters, digits, -", nil)
	add("hub", hub, "←/→ to choose", append([]string(nil), m.hubOrder...))
	add("host", "", "the public name peers and invites use (empty: the hub's address)", nil)
	add("image", m.inv.Defaults.Image, "the pub image (the inventory's default)", nil)
	add("port", strconv.Itoa(m.freePort(hub)), "the port on the hub (a free one is suggested)", nil)
	f.submit = func(v map[string]string) (action, error) {
		p := inventory.Pub{Name: v["name"], Hub: v["hub"], Host: v["host"]}
		if !inventory.IsDNSLabel(p.Name) {
			return action{}, fmt.Errorf("name %q is not allowed: use lowercase letters, digits and -, e.g. %s", p.Name, name)
		}
		if _, ok := m.inv.Pub(p.Name); ok {
			return action{}, fmt.Errorf("pub %s is already in the inventory: choose another name", p.Name)
		}
		if v["image"] != m.inv.Defaults.Image {
			if !inventory.IsImageRef(v["image"]) {
				return action{}, fmt.Errorf("image %q is not an image reference such as ahdinosaur/ssb-pub", v["image"])
			}
			p.Image = v["image"]
		}
		if v["port"] != "" {
			port, err := strconv.Atoi(v["port"])
			if err != nil || port < 1 || port > 65535 {
				return action{}, fmt.Errorf("port %q: a number from 1 to 65535", v["port"])
			}
			if port != m.inv.Defaults.Port {
				p.Port = port
			}
			for _, q := range m.inv.PubsOn(p.Hub) {
				if q.Port == port {
					return action{}, fmt.Errorf("port %d on hub %s is taken by pub %s: try %d", port, p.Hub, q.Name, m.freePort(p.Hub))
				}
			}
		}
		return action{kind: actNewPub, pub: p.Name, hub: p.Hub, newPub: p}, nil
	}
	m.dialog = f
}

// freePubName suggests a name for a new pub.
func (m *Model) freePubName() string {
	for i := 1; ; i++ {
		n := "pub-" + strconv.Itoa(i)
		if _, ok := m.inv.Pub(n); !ok {
			return n
		}
	}
}

// freePort suggests a port no pub of hub uses.
func (m *Model) freePort(hub string) int {
	used := map[int]bool{}
	for _, p := range m.inv.PubsOn(hub) {
		used[p.Port] = true
	}
	for p := m.inv.Defaults.Port; p < 65535; p++ {
		if !used[p] {
			return p
		}
	}
	return m.inv.Defaults.Port
}

// newHubForm opens the form that adds an existing server as a hub.
func (m *Model) newHubForm() {
	f := &formDialog{st: &m.styles, title: "New hub"}
	add := func(label, value, hint string, choices ...string) {
		ff := &formField{label: label, hint: hint, choices: choices}
		ff.in.limit = 253
		ff.in.set(value)
		f.fields = append(f.fields, ff)
	}
	const existing = "an existing server"
	onCloud := ""
	if m.inv.Cloud != nil && m.inv.Cloud.Name != "" && m.opts.CreateHub != nil {
		onCloud = "a new server on cloud " + m.inv.Cloud.Name
		add("what", onCloud, "←/→: boot a server on the cloud (hub create), or add one you have", onCloud, existing)
	}
	add("name", fmt.Sprintf("hub-%d", len(m.hubOrder)+1), "a DNS label: lowercase letters, digits, -")
	add("address", "", "existing server: IP address or DNS name; its host key must be in known_hosts")
	add("user", "", "existing server: SSH user (empty: the inventory's ssh.user)")
	add("capacity", "", "most pubs on it (empty: no limit)")
	f.submit = func(v map[string]string) (action, error) {
		h := inventory.Hub{Name: v["name"], Address: v["address"], User: v["user"]}
		if !inventory.IsDNSLabel(h.Name) {
			return action{}, fmt.Errorf("name %q is not allowed: use lowercase letters, digits and -, e.g. hub-%d", h.Name, len(m.hubOrder)+1)
		}
		if _, ok := m.inv.Hub(h.Name); ok {
			return action{}, fmt.Errorf("hub %s is already in the inventory", h.Name)
		}
		if onCloud != "" && v["what"] == onCloud {
			return action{kind: actNewHub, hub: h.Name, newHub: h, onCloud: true}, nil
		}
		if h.Address == "" || strings.ContainsAny(h.Address, " /@") {
			return action{}, errors.New("address: an IP address or DNS name, e.g. 203.0.113.10")
		}
		if v["capacity"] != "" {
			c, err := strconv.Atoi(v["capacity"])
			if err != nil || c < 0 {
				return action{}, fmt.Errorf("capacity %q: a number of pubs", v["capacity"])
			}
			h.Capacity = c
		}
		return action{kind: actNewHub, hub: h.Name, newHub: h}, nil
	}
	m.dialog = f
}

// hubAction starts what a key asks of the hub under the cursor.
func (m *Model) hubAction(kind actionKind) tea.Cmd {
	name := m.hubTable.selected()
	hs, ok := m.hubs[name]
	if !ok {
		m.fail(errors.New("no hub selected"))
		return nil
	}
	a := action{kind: kind, hub: name}
	switch kind {
	case actDeleteHub:
		placed := m.pubsOn(name)
		lines := []string{"The hub leaves the inventory. Nothing on the server is touched."}
		if m.inv.Cloud != nil && hs.inv.ServerID != "" {
			lines = []string{fmt.Sprintf("Its server %s is deleted on cloud %s, for good; once the cloud has no trace of it, the hub leaves the inventory.", hs.inv.ServerID, m.inv.Cloud.Name)}
		}
		if len(placed) > 0 {
			sort.Strings(placed)
			m.fail(fmt.Errorf("hub %s still has pubs (%s): move or delete them first", name, strings.Join(placed, ", ")))
			return nil
		}
		m.dialog = &typeNameDialog{st: &m.styles, title: "Delete hub " + name + "?", lines: lines, expect: name, act: a}
	case actReboot:
		if m.inv.Cloud == nil || hs.inv.ServerID == "" {
			m.fail(fmt.Errorf("hub %s: reboot needs the inventory's cloud section and the hub's server_id (hubs made by 'buttctl hub create' have one)", name))
			return nil
		}
		m.confirm(a, "Reboot hub "+name+"?", fmt.Sprintf("A hard reboot of server %s through cloud %s: its %s go down until the hub is back.", hs.inv.ServerID, m.inv.Cloud.Name, plural(len(m.pubsOn(name)), "pub")))
	}
	return nil
}

// applyWatchState shows what the watcher is doing about each pub.
func (m *Model) applyWatchState(pubs map[string]watch.PubState) {
	for name, ps := range m.pubs {
		w := ""
		if s, ok := pubs[name]; ok {
			w = watchNote(s, m.now())
		}
		if ps.watch != w {
			ps.watch = w
			m.updatePub(name)
		}
	}
}

// watchNote says what watch is doing about a pub, when that is worth
// saying (not when it is simply running).
func watchNote(s watch.PubState, now time.Time) string {
	switch s.Phase {
	case watch.PhaseRunning, watch.PhaseStarting, watch.PhaseUnknown, watch.PhaseStopped, watch.PhaseUnplaced, "":
		return ""
	}
	n := "watch: " + s.Phase
	if s.Reason != "" {
		n += " (" + s.Reason + ")"
	}
	if s.NextAttempt != nil && s.NextAttempt.After(now) {
		n += ", next try in " + render.Age(s.NextAttempt.Sub(now))
	}
	if s.Error != "" {
		n += ": " + s.Error
	}
	return n
}
