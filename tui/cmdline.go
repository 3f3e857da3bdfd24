package tui

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// commands are what the `:` line understands.
var commands = []struct{ name, args, help string }{
	{"hubs", "[HUB]", "the Hubs view"},
	{"pubs", "[HUB]", "the Pubs view (of one hub)"},
	{"pub", "NAME", "a pub's detail"},
	{"logs", "NAME...", "follow pubs' logs, merged"},
	{"plan", "", "what apply would change"},
	{"events", "", "what the engines, watch, apply and you did"},
	{"help", "", "every key"},
	{"quit", "", "leave the console"},
}

// completer completes the `:` line: command names, then pub or hub names.
type completer struct {
	// cycling through candidates after repeated tabs
	cands []string
	idx   int
	base  string // the line before the word being completed
}

func newCompleter() *completer { return &completer{} }

func (c *completer) reset() { c.cands, c.idx, c.base = nil, 0, "" }

// candidates for the last word of line.
func (m *Model) candidates(line string) (base, word string, out []string) {
	fields := strings.Fields(line)
	if strings.HasSuffix(line, " ") || len(fields) == 0 {
		fields = append(fields, "")
	}
	word = fields[len(fields)-1]
	base = line[:len(line)-len(word)]
	var pool []string
	if len(fields) == 1 {
		for _, c := range commands {
			pool = append(pool, c.name)
		}
	} else {
		switch fields[0] {
		case "logs", "pub", "l":
			for name := range m.pubs {
				pool = append(pool, name)
			}
		case "pubs", "hubs", "hub":
			pool = append(pool, m.hubOrder...)
		}
	}
	sort.Strings(pool)
	for _, p := range pool {
		if strings.HasPrefix(p, word) && !(len(fields) > 1 && contains(fields[1:len(fields)-1], p)) {
			out = append(out, p)
		}
	}
	return base, word, out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// complete handles tab on the `:` line: the only candidate, else the
// candidates' common prefix, else the next candidate in turn.
func (m *Model) complete() {
	c := m.completer
	if len(c.cands) > 1 {
		c.idx = (c.idx + 1) % len(c.cands)
		m.input.set(c.base + c.cands[c.idx])
		return
	}
	base, word, cands := m.candidates(m.input.String())
	switch {
	case len(cands) == 1:
		m.input.set(base + cands[0] + " ")
		c.reset()
	case len(cands) > 1:
		if p := commonPrefix(cands); len(p) > len(word) {
			m.input.set(base + p)
			return
		}
		c.cands, c.idx, c.base = cands, 0, base
		m.input.set(base + cands[0])
	}
}

func commonPrefix(ss []string) string {
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

// ghost is the rest of the first candidate, shown greyed after the cursor.
func (m *Model) ghost() (string, []string) {
	line := m.input.String()
	if m.input.pos != len(m.input.value) {
		return "", nil
	}
	_, word, cands := m.candidates(line)
	if len(cands) == 0 || (word == "" && !strings.HasSuffix(line, " ") && line != "") {
		return "", cands
	}
	return strings.TrimPrefix(cands[0], word), cands
}

// history: older with ↑, newer with ↓.
func (m *Model) historyStep(n int) {
	if len(m.history) == 0 {
		return
	}
	m.histPos = max(0, min(len(m.history), m.histPos+n))
	if m.histPos == len(m.history) {
		m.input.set("")
		return
	}
	m.input.set(m.history[m.histPos])
}

// runCommand carries out a `:` line.
func (m *Model) runCommand(line string) tea.Cmd {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil
	}
	if len(m.history) == 0 || m.history[len(m.history)-1] != line {
		m.history = append(m.history, line)
		if len(m.history) > 100 {
			m.history = m.history[1:]
		}
	}
	m.histPos = len(m.history)
	f := strings.Fields(line)
	name, args := f[0], f[1:]
	switch name {
	case "hubs", "hub", "h":
		m.setScope("")
		m.switchTo(viewHubs)
		if len(args) > 0 {
			if _, ok := m.hubs[args[0]]; !ok {
				return m.failCmd(fmt.Errorf(":%s: no hub %s in the inventory", name, args[0]))
			}
			m.hubTable.selectKey(args[0])
		}
	case "pubs", "p":
		scope := ""
		if len(args) > 0 {
			scope = strings.TrimPrefix(args[0], "@")
			if _, ok := m.hubs[scope]; !ok {
				return m.failCmd(fmt.Errorf(":pubs %s: no hub %s in the inventory", args[0], scope))
			}
		}
		m.setScope(scope)
		m.switchTo(viewPubs)
	case "pub":
		if len(args) != 1 {
			return m.failCmd(errors.New(":pub NAME: which pub?"))
		}
		if _, ok := m.pubs[args[0]]; !ok {
			return m.failCmd(fmt.Errorf(":pub: no pub %s in the inventory", args[0]))
		}
		return m.openDetail(args[0])
	case "logs", "l":
		if len(args) == 0 {
			if m.logs.active() {
				m.switchTo(viewLogs)
				return nil
			}
			return m.failCmd(errors.New(":logs NAME...: which pubs? (tab completes)"))
		}
		for _, a := range args {
			if _, ok := m.pubs[a]; !ok {
				return m.failCmd(fmt.Errorf(":logs: no pub %s in the inventory", a))
			}
		}
		return m.openLogs(args)
	case "plan":
		m.switchTo(viewPlan)
	case "events", "ev":
		m.switchTo(viewEvents)
	case "help":
		m.showHelp = true
	case "quit", "q", "q!":
		m.quitting = true
		return tea.Quit
	default:
		var names []string
		for _, c := range commands {
			names = append(names, ":"+c.name)
		}
		return m.failCmd(fmt.Errorf("unknown command :%s; try %s", name, strings.Join(names, " ")))
	}
	return nil
}

func (m *Model) failCmd(err error) tea.Cmd {
	m.fail(err)
	return nil
}

// openInput starts typing a filter, a command or a search.
func (m *Model) openInput(kind inputKind, value string) {
	m.inputKind = kind
	m.input = field{limit: 256}
	m.input.set(value)
	m.completer.reset()
	m.histPos = len(m.history)
}

// handleInput takes a key while the input line is open.
func (m *Model) handleInput(msg tea.KeyPressMsg) tea.Cmd {
	kind := m.inputKind
	switch msg.String() {
	case "esc", "ctrl+c":
		m.inputKind = inputNone
		switch kind {
		case inputFilter:
			if t := m.currentTable(); t != nil {
				t.setFilter("")
			}
		case inputSearch:
			m.logs.setSearch("")
		}
		return nil
	case "enter":
		m.inputKind = inputNone
		switch kind {
		case inputCommand:
			return m.runCommand(m.input.String())
		case inputSearch:
			m.logs.setSearch(m.input.String())
			m.logs.jump(1)
		}
		return nil
	case "tab":
		if kind == inputCommand {
			m.complete()
		}
		return nil
	case "up":
		if kind == inputCommand {
			m.historyStep(-1)
		}
		return nil
	case "down":
		if kind == inputCommand {
			m.historyStep(1)
		}
		return nil
	}
	if len(m.input.value) == 0 && msg.String() == "backspace" {
		m.inputKind = inputNone // backspace on an empty line closes it
		m.inputChanged()
		return nil
	}
	if m.input.update(msg) {
		m.completer.reset()
		m.inputChanged()
	}
	return nil
}

// inputChanged applies a filter or search as it is typed.
func (m *Model) inputChanged() {
	switch m.inputKind {
	case inputFilter:
		if t := m.currentTable(); t != nil {
			t.setFilter(m.input.String())
		}
	case inputSearch:
		m.logs.setSearch(m.input.String())
	}
}
