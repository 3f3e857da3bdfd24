package tui

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/buttctl/buttctl/tui/render"
)

// Smallest usable screen.
const minWidth, minHeight = 40, 8

// View draws the whole screen: title bar and tabs, the view, the hubs that
// cannot be reached, the help or input line and the status line.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "buttctl"
	return v
}

// Render is the screen's text.
func (m *Model) Render() string {
	if m.quitting {
		return ""
	}
	w, h := m.width, m.height
	if w == 0 || h == 0 {
		w, h = 80, 24
	}
	if w < minWidth || h < minHeight {
		return fmt.Sprintf("buttctl needs a terminal of at least %d×%d (this one is %d×%d)", minWidth, minHeight, w, h)
	}
	lines := make([]string, 0, h)
	lines = append(lines, m.memoTitle.get(m.titleKey(w), func() string { return m.titleBar(w) }))
	problems := m.problemLines(w, h)
	bodyH := h - 3 - len(problems)
	lines = append(lines, m.body(w, bodyH)...)
	lines = append(lines, problems...)
	if m.inputKind == inputNone {
		lines = append(lines, m.memoHelp.get(fmt.Sprint(m.view, w, m.opts.ReadOnly, m.styles.Dark), func() string { return m.bottomLine(w) }))
	} else {
		lines = append(lines, m.bottomLine(w))
	}
	lines = append(lines, m.memoStatus.get(m.statusKey(w), func() string { return m.statusLine(w) }))
	if m.showHelp {
		m.overlayBox(lines, w, h, m.helpScreen(min(w-4, 100)))
	} else if m.dialog != nil {
		bw := min(w-4, 76)
		m.overlayBox(lines, w, h, m.dialog.Render(bw-4))
	}
	return strings.Join(lines, "\n")
}

// overlayBox draws content in a box in the middle of the screen.
func (m *Model) overlayBox(lines []string, w, h int, content string) {
	box := m.styles.Dialog.Render(content)
	bl := strings.Split(box, "\n")
	if len(bl) > h-2 {
		bl = append(bl[:h-3], bl[len(bl)-1])
	}
	bw := lipgloss.Width(box)
	x := max(0, (w-bw)/2)
	y := max(1, (h-len(bl))/2)
	for i := range bl {
		bl[i] = "\x1b[m" + ansi.Truncate(bl[i], w, "") + "\x1b[m"
	}
	overlay(lines, bl, x, y, w)
}

// memo keeps a rendered line until what it shows changes: the chrome is
// drawn with Lip Gloss, which is too slow to redo for every frame.
type memo struct{ key, val string }

func (c *memo) get(key string, render func() string) string {
	if c.key != key || c.val == "" {
		c.key, c.val = key, render()
	}
	return c.val
}

func (m *Model) titleKey(w int) string {
	c := m.count()
	d := ""
	if m.detail != nil {
		d = m.detail.pub
	}
	return fmt.Sprint(w, m.view, m.scope, len(m.logs.sources), d, c, len(m.hubOrder), len(m.pubs), m.styles.Dark)
}

func (m *Model) statusKey(w int) string {
	age := ""
	if m.flash == "" && m.lastErr != "" {
		age = render.Age(m.now().Sub(m.lastErrAt))
	}
	return fmt.Sprint(w, m.inv.Path, len(m.hubOrder), m.watch, m.opts.ReadOnly, m.flash, m.lastErr, age, m.styles.Dark)
}

// tabSpan is where a tab is on the title bar.
type tabSpan struct {
	v        view
	label    string
	from, to int
}

const titleText = " buttctl "

func (m *Model) tabRanges() []tabSpan {
	x := width(titleText) + 1
	out := make([]tabSpan, 0, len(tabs))
	for _, t := range tabs {
		label := t.name
		if t.v == viewPubs && m.scope != "" {
			label += "@" + m.scope
		}
		if t.v == viewLogs && m.logs.active() {
			label += "(" + strconv.Itoa(len(m.logs.sources)) + ")"
		}
		w := width(label) + 2
		out = append(out, tabSpan{v: t.v, label: label, from: x, to: x + w})
		x += w
	}
	return out
}

func (m *Model) titleBar(w int) string {
	st := &m.styles
	var b strings.Builder
	b.WriteString(st.Title.Render(titleText) + " ")
	for _, t := range m.tabRanges() {
		active := t.v == m.view || (m.view == viewDetail && t.v == viewPubs)
		if active {
			b.WriteString(st.TabActive.Render(t.label))
		} else {
			b.WriteString(st.TabInactive.Render(t.label))
		}
	}
	if m.view == viewDetail && m.detail != nil {
		b.WriteString(st.Muted.Render(" › ") + st.HelpKey.Render(m.detail.pub))
	}
	left := b.String()
	right := m.summary()
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	if lw+rw+2 > w {
		return fitLine(left, w)
	}
	return left + strings.Repeat(" ", w-lw-rw-1) + right + " "
}

// summary is the fleet at a glance, for the title bar.
func (m *Model) summary() string {
	st := &m.styles
	c := m.count()
	parts := []string{}
	hubs := plural(len(m.hubOrder), "hub")
	if c.hubsDown > 0 {
		hubs += " " + st.Tone(render.ToneBad, fmt.Sprintf("%d down", c.hubsDown))
	}
	parts = append(parts, hubs)
	pubs := plural(len(m.pubs), "pub")
	add := func(n int, sym string, t render.Tone) {
		if n > 0 {
			pubs += " " + st.Tone(t, sym+strconv.Itoa(n))
		}
	}
	add(c.running, "●", render.ToneOK)
	add(c.starting, "◐", render.ToneBusy)
	add(c.unhealthy, "▲", render.ToneWarn)
	add(c.bad, "✗", render.ToneBad)
	add(c.stopped, "■", render.ToneIdle)
	add(c.pending, "…", render.ToneDim)
	parts = append(parts, pubs)
	return strings.Join(parts, st.Muted.Render(" · "))
}

// bodyTop is the screen line where the view's body starts.
func (m *Model) bodyTop() int { return 1 }

// body renders the current view in exactly h lines.
func (m *Model) body(w, h int) []string {
	var lines []string
	switch m.view {
	case viewHubs:
		lines = m.hubTable.render(w, h-1, &m.styles)
	case viewPubs:
		lines = m.pubTable.render(w, h-1, &m.styles)
	case viewEvents:
		lines = m.eventTable.render(w, h-1, &m.styles)
	case viewPlan:
		m.refreshPlan()
		lines = m.plan.Render(w, h)
	case viewLogs:
		lines = m.logs.Render(w, h)
	case viewDetail:
		if m.detail != nil {
			lines = m.detail.Render(w, h, m)
		}
	}
	for len(lines) < h {
		lines = append(lines, strings.Repeat(" ", w))
	}
	return lines[:h]
}

// problemLines are the hubs that cannot be reached, in red: never hidden.
func (m *Model) problemLines(w, h int) []string {
	down := m.unreachable()
	if len(down) == 0 {
		return nil
	}
	room := 3
	switch {
	case h < 16:
		room = 1
	case h < 30:
		room = 2
	}
	if m.view == viewLogs || m.view == viewDetail {
		room = 1
	}
	var out []string
	for i, hs := range down {
		if len(out) == room-1 && len(down)-i > 1 {
			out = append(out, fitLine(m.styles.Tone(render.ToneBad, fmt.Sprintf(" ✗ %d more hubs unreachable (:hubs shows each error)", len(down)-i)), w))
			break
		}
		msg := render.OneLine(hs.obs.Error)
		if !strings.HasPrefix(msg, hs.inv.Name) {
			msg = hs.inv.Name + ": " + msg
		}
		out = append(out, fitLine(m.styles.Tone(render.ToneBad, " ✗ "+msg), w))
	}
	return out
}

// bottomLine is the input line while typing, else the view's keys.
func (m *Model) bottomLine(w int) string {
	st := &m.styles
	switch m.inputKind {
	case inputFilter, inputSearch:
		hint := st.Muted.Render("  text · !text not · ~text fuzzy · enter keep · esc clear")
		if m.inputKind == inputSearch {
			hint = st.Muted.Render("  enter search · n/N next/prev · esc clear")
		}
		fw := max(10, w-2-ansi.StringWidth(hint))
		return fitLine(st.Prompt.Render(" /")+m.input.render(fw, st, true, "")+hint, w)
	case inputCommand:
		ghost, cands := m.ghost()
		list := ""
		if len(cands) > 1 {
			list = "  " + strings.Join(cands[:min(len(cands), 8)], " ")
			if len(cands) > 8 {
				list += " …"
			}
		}
		list = st.Muted.Render(list)
		fw := max(20, w-2-ansi.StringWidth(list))
		return fitLine(st.Prompt.Render(" :")+m.input.render(fw, st, true, ghost)+list, w)
	}
	h := m.help
	h.SetWidth(w - 1)
	return fitLine(" "+h.ShortHelpView(m.shortHelp()), w)
}

// statusLine: inventory, hubs, watch, and the last error or message.
func (m *Model) statusLine(w int) string {
	st := &m.styles
	path := m.inv.Path
	if home, err := os.UserHomeDir(); err == nil && home != "" && strings.HasPrefix(path, home+"/") {
		path = "~" + path[len(home):]
	}
	if path == "" {
		path = "(no file)"
	}
	watch := m.watch
	if watch == "" {
		watch = "?"
	}
	left := fmt.Sprintf(" %s · %s · watch: %s", path, plural(len(m.hubOrder), "hub"), watch)
	if m.opts.ReadOnly {
		left += " · read-only"
	}
	right := ""
	rs := st.StatusKey
	switch {
	case m.flash != "":
		right = m.flash
	case m.lastErr != "":
		right = "✗ " + m.lastErr
		if !m.lastErrAt.IsZero() {
			right += " (" + render.Age(m.now().Sub(m.lastErrAt)) + " ago)"
		}
		rs = st.StatusErr
	}
	lw := width(left)
	if right == "" {
		return st.Status.Render(fitLine(left, w))
	}
	if lw > w/2 {
		left = fit(left, max(w/3, w-width(right)-3), false)
		lw = width(left)
	}
	rw := w - lw - 3
	if rw < 10 {
		return st.Status.Render(fit(left, w, false))
	}
	return st.Status.Render(left+" │ ") + rs.Render(fit(right, rw, false))
}

// shortHelp is the help bar of the current view.
func (m *Model) shortHelp() []key.Binding {
	k := m.keys
	switch m.view {
	case viewHubs:
		enter := k.Enter
		enter.SetHelp("enter", "its pubs")
		return []key.Binding{enter, k.Logs, k.New, k.Delete, k.Reboot, k.Filter, k.Command, k.Help, k.Quit}
	case viewPubs:
		return []key.Binding{k.Enter, k.Restart, k.StartStop, k.Kill, k.Logs, k.New, k.Filter, k.Command, k.Help, k.Quit}
	case viewDetail:
		return []key.Binding{k.Back, k.Restart, k.StartStop, k.Kill, k.Logs, k.Whoami, k.Invite, k.Move, k.Backup, k.Help}
	case viewLogs:
		search := k.Filter
		search.SetHelp("/", "search")
		return []key.Binding{k.Back, k.Follow, k.Pause, k.Wrap, search, k.NextMatch, k.Help}
	case viewPlan:
		return []key.Binding{k.Apply, k.Filter, k.Back, k.Command, k.Help, k.Quit}
	case viewEvents:
		enter := k.Enter
		enter.SetHelp("enter", "its pub")
		return []key.Binding{enter, k.Filter, k.Sort, k.Back, k.Command, k.Help, k.Quit}
	}
	return k.ShortHelp()
}

// helpScreen is `?`: every key, the filter syntax and the commands.
func (m *Model) helpScreen(w int) string {
	st := &m.styles
	k := m.keys
	var groups [][]key.Binding
	switch m.view {
	case viewLogs:
		search := k.Filter
		search.SetHelp("/", "search")
		groups = [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Back}, {k.Follow, k.Pause, k.Wrap, search, k.NextMatch, k.PrevMatch}, {k.NextView, k.Command, k.Help, k.Quit}}
	default:
		groups = k.FullHelp()
	}
	hm := m.help
	hm.SetWidth(w)
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render("Keys") + "\n\n")
	b.WriteString(hm.FullHelpView(groups) + "\n\n")
	b.WriteString(st.DialogTitle.Render("Filter") + "  " + st.HelpDesc.Render("/text substring · /!text without · /~text fuzzy (letters in order)") + "\n")
	var cmds []string
	for _, c := range commands {
		s := ":" + c.name
		if c.args != "" {
			s += " " + c.args
		}
		cmds = append(cmds, s)
	}
	b.WriteString(st.DialogTitle.Render("Commands") + "  " + st.HelpDesc.Render(lipgloss.Wrap(strings.Join(cmds, " · ")+" (tab completes, ↑/↓ history)", w-10, " ")) + "\n")
	b.WriteString(st.DialogTitle.Render("Mouse") + "  " + st.HelpDesc.Render("click selects (again: opens), a title sorts, wheel scrolls") + "\n")
	if m.opts.ReadOnly {
		b.WriteString("\n" + st.Danger.Render("read-only: the actions that change the fleet are off"))
	}
	b.WriteString("\n" + st.HelpDesc.Render("any key closes"))
	return b.String()
}

// plural writes a count of things: "1 hub", "3 hubs".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
