package tui

import (
	"context"
	"fmt"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/live"
	"github.com/buttctl/buttctl/ops/provision"
	"github.com/buttctl/buttctl/tui/render"
)

// Options say what the console opens on and how it behaves.
type Options struct {
	// ReadOnly hides and refuses every action that changes the fleet or
	// the inventory.
	ReadOnly bool
	// Audit is the inventory's audit log: the console records there every
	// action it carries out, and the Events view shows each record appended
	// to its file (by watch, apply, the command line and the console); nil
	// for none.
	Audit *audit.Log
	// WatchState is the watcher's state file, for what it is doing about
	// each pub.
	WatchState string
	// Connect makes the connections to the hubs (hubconn.New by default).
	Connect Connector
	// Refresh is how often every hub is observed besides its events (10s);
	// Facts how often the hubs' facts are gathered (30s).
	Refresh, Facts time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Dark pins the palette (nil: ask the terminal, dark until it answers).
	Dark *bool
	// IdentityStore opens the local identity store (move and backup use it;
	// nil: they are off). BackupDir is where b writes backups.
	IdentityStore func() (*identity.Store, error)
	BackupDir     string
	// CreateHub boots a hub on the inventory's cloud and records it (the
	// command layer's 'hub create'); nil: n in Hubs only adds existing servers.
	CreateHub func(ctx context.Context, inv *inventory.Inventory, name string, progress provision.Progress) (*provision.Created, error)
	// Version is buttctl's, written into backups.
	Version string
}

// view names what the console shows.
type view int

const (
	viewHubs view = iota
	viewPubs
	viewLogs
	viewPlan
	viewEvents
	viewDetail
)

// tabs are the views the title bar offers, in order.
var tabs = []struct {
	v    view
	name string
}{{viewHubs, "Hubs"}, {viewPubs, "Pubs"}, {viewLogs, "Logs"}, {viewPlan, "Plan"}, {viewEvents, "Events"}}

// inputKind says what the input line is for.
type inputKind int

const (
	inputNone    inputKind = iota
	inputFilter            // `/` in a list
	inputCommand           // `:`
	inputSearch            // `/` in the logs
)

// maxEvents bounds the Events view.
const maxEvents = 2000

// Model is the console's one root model.
type Model struct {
	opts   Options
	now    func() time.Time
	keys   KeyMap
	styles Styles
	help   help.Model

	be       *backend
	gen      int
	inv      *inventory.Inventory
	invMod   time.Time
	watch    string
	notices  *mailbox[string]
	evCancel context.CancelFunc
	auCancel context.CancelFunc

	width, height int
	view          view
	back          []view
	showHelp      bool
	quitting      bool

	hubs     map[string]*hubState
	hubOrder []string
	hubRank  map[string]int
	pubs     map[string]*pubState
	scope    string // the Pubs view shows only this hub's pubs ("" all)

	hubTable, pubTable, eventTable *table

	events   *ring[render.Event]
	eventSeq int

	logs   *logView
	detail *detailView
	plan   *planView

	planDirty bool

	input     field
	inputKind inputKind
	history   []string
	histPos   int
	completer *completer

	dialog dialog

	lastErr   string
	lastErrAt time.Time
	flash     string

	spinFrame int
	spinning  bool

	counted    counts
	countDirty bool

	memoTitle, memoHelp, memoStatus memo
}

// New returns the console over inv. It opens no connection: its commands
// do, once a program runs them.
func New(inv *inventory.Inventory, opts Options) *Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 10 * time.Second
	}
	if opts.Facts <= 0 {
		opts.Facts = 30 * time.Second
	}
	dark := true
	if opts.Dark != nil {
		dark = *opts.Dark
	}
	m := &Model{
		opts:    opts,
		now:     opts.Now,
		keys:    DefaultKeyMap(),
		styles:  NewStyles(dark),
		help:    help.New(),
		hubs:    map[string]*hubState{},
		pubs:    map[string]*pubState{},
		view:    viewPubs,
		notices: newMailbox[string](64),
		events:  newRing[render.Event](maxEvents),
	}
	m.help.Styles = helpStyles(&m.styles)
	if opts.ReadOnly {
		for _, b := range m.keys.mutating() {
			b.SetEnabled(false)
		}
		m.keys.Invite.SetEnabled(false)
	}
	m.hubTable = newTable(render.HubColumns, "no hubs in the inventory: n adds one")
	m.hubTable.title = m.hubGroupTitle
	m.pubTable = newTable(render.PubColumns, "no pubs yet: press n to create one")
	m.pubTable.groupRank = func(g string) int {
		if r, ok := m.hubRank[g]; ok {
			return r
		}
		return len(m.hubRank)
	}
	m.pubTable.title = m.hubGroupTitle
	m.eventTable = newTable(render.EventColumns, "nothing happened yet")
	m.eventTable.sortCol, m.eventTable.desc = 0, true
	m.logs = newLogView(&m.styles)
	m.plan = newPlanView(&m.styles)
	m.completer = newCompleter()
	m.setInventory(inv)
	m.gen = 1
	m.be = openBackend(inv, m.gen, nil, opts.Connect, m.logNotice, opts.Audit)
	opts.Audit.OnError(func(err error) { m.logNotice("%v (the action was carried out)", err) })
	return m
}

// logNotice takes the SSH pool's notices (from any goroutine).
func (m *Model) logNotice(format string, args ...any) {
	m.notices.put(fmt.Sprintf(format, args...))
}

func helpStyles(st *Styles) help.Styles {
	hs := help.DefaultStyles(st.Dark)
	hs.ShortKey, hs.FullKey = st.HelpKey, st.HelpKey
	hs.ShortDesc, hs.FullDesc = st.HelpDesc, st.HelpDesc
	hs.ShortSeparator, hs.FullSeparator = st.HelpSep, st.HelpSep
	return hs
}

// Init starts looking at the fleet: every hub at once, their facts, their
// event streams, the audit log, and the clocks.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{
		m.observeAll(),
		m.gatherFacts(m.hubOrder),
		m.cloudStatus(),
		m.followEvents(),
		m.followAudit(),
		m.waitNotices(),
		m.statInventory(),
		tea.Tick(m.opts.Refresh, func(time.Time) tea.Msg { return refreshTickMsg{} }),
		tea.Tick(m.opts.Facts, func(time.Time) tea.Msg { return factsTickMsg{} }),
		tea.Tick(5*time.Second, func(time.Time) tea.Msg { return clockTickMsg{} }),
		m.startSpinner(),
	}
	if m.opts.Dark == nil {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	return tea.Batch(cmds...)
}

// Update applies a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		return m, nil
	case tea.BackgroundColorMsg:
		m.setDark(msg.IsDark())
		return m, nil
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	case tea.MouseClickMsg:
		return m, m.handleClick(msg.Mouse())
	case tea.MouseWheelMsg:
		m.handleWheel(msg.Mouse())
		return m, nil
	case tea.PasteMsg:
		if m.inputKind != inputNone {
			m.input.insert(msg.Content)
			m.inputChanged()
		}
		return m, nil
	}
	return m, m.handleData(msg)
}

// setDark switches the palette.
func (m *Model) setDark(dark bool) {
	if m.styles.Dark == dark {
		return
	}
	m.styles = NewStyles(dark)
	m.help.Styles = helpStyles(&m.styles)
	m.hubTable.invalidate()
	m.pubTable.invalidate()
	m.eventTable.invalidate()
}

// handleData applies the results of I/O and the clocks.
func (m *Model) handleData(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case hubObservedMsg:
		if msg.gen != m.gen {
			return nil
		}
		m.applyObservation(msg.hub, msg.snap)
		var cmds []tea.Cmd
		if hs := m.hubs[msg.hub]; hs != nil && hs.stale {
			hs.stale = false
			cmds = append(cmds, m.observeHub(msg.hub))
		}
		cmds = append(cmds, m.fetchIdentities(msg.hub))
		if m.view == viewDetail && m.detail != nil && m.pubs[m.detail.pub] != nil && m.pubs[m.detail.pub].inv.Hub == msg.hub {
			cmds = append(cmds, m.inspectPub(m.detail.pub))
		}
		return tea.Batch(cmds...)
	case hubFactsMsg:
		if msg.gen == m.gen {
			m.applyFacts(msg.facts)
		}
	case refreshTickMsg:
		return tea.Batch(m.observeAll(), m.statInventory(),
			tea.Tick(m.opts.Refresh, func(time.Time) tea.Msg { return refreshTickMsg{} }))
	case factsTickMsg:
		return tea.Batch(m.gatherFacts(m.hubOrder), m.cloudStatus(),
			tea.Tick(m.opts.Facts, func(time.Time) tea.Msg { return factsTickMsg{} }))
	case clockTickMsg:
		m.rebuildRows()
		return tea.Tick(5*time.Second, func(time.Time) tea.Msg { return clockTickMsg{} })
	case spinTickMsg:
		return m.spin()
	case refreshHubMsg:
		if msg.gen != m.gen {
			return nil
		}
		if hs := m.hubs[msg.hub]; hs != nil {
			hs.queued = false
			if hs.inFlight {
				hs.stale = true
				return nil
			}
			return m.observeHub(msg.hub)
		}
	case eventsStartedMsg:
		if msg.gen != m.gen {
			msg.cancel()
			return nil
		}
		m.evCancel = msg.cancel
		return waitEvents(msg.gen, msg.ch)
	case engineEventsMsg:
		return m.applyEngineEvents(msg)
	case auditStartedMsg:
		m.auCancel = msg.cancel
		return waitAudit(msg.ch)
	case auditMsg:
		for _, r := range msg.records {
			m.addEvent(render.AuditEvent(r))
		}
		return waitAudit(msg.ch)
	case noticesMsg:
		for _, n := range msg.notices {
			m.addEvent(render.Event{Time: m.now(), Source: "ssh", Action: "notice", Detail: n, Tone: render.ToneWarn})
		}
		return m.waitNotices()
	case actionDoneMsg:
		return m.actionDone(msg)
	case identitiesMsg:
		if msg.gen != m.gen {
			return nil
		}
		for name, id := range msg.ids {
			if ps := m.pubs[name]; ps != nil {
				ps.identity = id
				m.updatePub(name)
			}
		}
	case whoamiMsg:
		return m.showWhoami(msg)
	case inviteMsg:
		return m.showInvite(msg)
	case inspectMsg:
		if m.detail != nil && msg.pub == m.detail.pub {
			m.detail.setInspection(msg)
		}
	case inventoryMsg:
		return m.inventoryChanged(msg)
	case invStatMsg:
		return m.invStat(msg)
	case logLinesMsg:
		return m.logs.take(msg)
	case applyMsg:
		return m.applied(msg)
	case progressMsg:
		return m.progressed(msg)
	case cloudServersMsg:
		m.applyCloud(msg)
	case closeBackendMsg:
		b := msg.b
		return func() tea.Msg { b.close(); return nil }
	}
	return nil
}

// applyEngineEvents takes a batch of engine events: each pub's state
// changes at once, and its hub is looked at again shortly after.
func (m *Model) applyEngineEvents(msg engineEventsMsg) tea.Cmd {
	if msg.gen != m.gen {
		return nil
	}
	var cmds []tea.Cmd
	for _, ev := range msg.events {
		m.applyEngineEvent(ev)
		if ev.Action != live.ActionConnected || m.hubs[ev.Hub] == nil || m.hubs[ev.Hub].obs != nil {
			m.addEvent(render.EngineEvent(ev))
		}
		if ev.Action == live.ActionDisconnected {
			continue
		}
		if hs := m.hubs[ev.Hub]; hs != nil && !hs.queued {
			hs.queued = true
			gen, hub := m.gen, ev.Hub
			cmds = append(cmds, tea.Tick(300*time.Millisecond, func(time.Time) tea.Msg { return refreshHubMsg{gen: gen, hub: hub} }))
		}
	}
	if m.detail != nil {
		m.detail.dirty = true
	}
	cmds = append(cmds, waitEvents(msg.gen, msg.ch))
	return tea.Batch(cmds...)
}

// addEvent records an event for the Events view (bounded).
func (m *Model) addEvent(e render.Event) {
	m.eventSeq++
	e.Seq = m.eventSeq
	if e.Time.IsZero() {
		e.Time = m.now()
	}
	if old, dropped := m.events.add(e); dropped {
		m.eventTable.remove(render.EventRow(old).Key)
	}
	m.eventTable.upsert(render.EventRow(e))
}

// ring keeps the last items added.
type ring[T any] struct {
	items []T
	start int
}

func newRing[T any](capacity int) *ring[T] { return &ring[T]{items: make([]T, 0, capacity)} }

// add appends an item; when full, the oldest goes (and is returned).
func (r *ring[T]) add(v T) (old T, dropped bool) {
	if len(r.items) < cap(r.items) {
		r.items = append(r.items, v)
		return old, false
	}
	old = r.items[r.start]
	r.items[r.start] = v
	r.start = (r.start + 1) % len(r.items)
	return old, true
}

func (r *ring[T]) len() int { return len(r.items) }

// at is the i-th oldest item.
func (r *ring[T]) at(i int) T { return r.items[(r.start+i)%len(r.items)] }

// last is the newest item.
func (r *ring[T]) last() T { return r.at(r.len() - 1) }

// fail records an error for the status line (and the Events view).
func (m *Model) fail(err error) {
	if err == nil {
		return
	}
	m.lastErr = render.OneLine(err.Error())
	m.lastErrAt = m.now()
	m.flash = ""
}

// say puts a message on the status line.
func (m *Model) say(format string, args ...any) {
	m.flash = fmt.Sprintf(format, args...)
}

// spinnerFrames animate what is under way.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (m *Model) spinner() string { return spinnerFrames[m.spinFrame%len(spinnerFrames)] }

// busy reports whether anything shows a spinner.
func (m *Model) busy() bool {
	for _, hs := range m.hubs {
		if hs.inFlight || hs.busy != "" || hs.obs == nil {
			return true
		}
	}
	for _, ps := range m.pubs {
		if ps.busy != "" {
			return true
		}
	}
	return m.plan.running()
}

// startSpinner starts the spinners' clock unless it runs.
func (m *Model) startSpinner() tea.Cmd {
	if m.spinning {
		return nil
	}
	m.spinning = true
	return tea.Tick(120*time.Millisecond, func(time.Time) tea.Msg { return spinTickMsg{} })
}

// spin advances the spinners and re-renders what shows one; the clock
// stops when nothing is under way, so an idle console does no work.
func (m *Model) spin() tea.Cmd {
	m.spinning = false
	if !m.busy() {
		return nil
	}
	m.spinFrame++
	for name, hs := range m.hubs {
		if hs.inFlight || hs.busy != "" || hs.obs == nil {
			m.updateHub(name)
		}
	}
	for name, ps := range m.pubs {
		if ps.busy != "" {
			m.updatePub(name)
		}
	}
	for _, s := range m.plan.steps {
		if s.State == "running" {
			m.plan.table.upsert(render.PlanRow(s, m.spinner()))
		}
	}
	return m.startSpinner()
}

// hubGroupTitle is a hub's line above its pubs when grouped.
func (m *Model) hubGroupTitle(group string) (string, render.Tone) {
	hs, ok := m.hubs[group]
	if !ok {
		if group == "" {
			return "(no hub)", render.ToneIdle
		}
		return group + " (not in the inventory)", render.ToneWarn
	}
	h := m.renderHub(group)
	st := render.HubState(h)
	text := group + " · " + st.Text
	pubs := len(m.inv.PubsOn(group))
	if hs.inv.Capacity > 0 {
		text += fmt.Sprintf(" · %d/%d pubs", pubs, hs.inv.Capacity)
	} else {
		text += fmt.Sprintf(" · %d pubs", pubs)
	}
	if hs.obs != nil && hs.obs.Error != "" {
		text += " · " + render.OneLine(hs.obs.Error)
	}
	return text, st.Tone
}

// keyIs reports whether msg is one of b's keys, enabled or not.
func keyIs(msg tea.KeyPressMsg, b key.Binding) bool {
	s := msg.String()
	for _, k := range b.Keys() {
		if k == s {
			return true
		}
	}
	return false
}
