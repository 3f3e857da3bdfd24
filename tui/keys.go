package tui

import (
	"charm.land/bubbles/v2/key"
)

// KeyMap is every key binding of the console.
type KeyMap struct {
	// Moving around.
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Enter, Back, NextView, PrevView         key.Binding
	Filter, Command, Help, Quit             key.Binding
	Sort, Group, Mark                       key.Binding

	// Actions on pubs and hubs (mutating unless said otherwise).
	Restart, StartStop, Kill, Delete, Move, Backup, Reboot, New, Apply key.Binding
	// Actions that change nothing.
	Logs, Whoami, Invite key.Binding

	// The Logs view.
	Follow, Pause, Wrap, NextMatch, PrevMatch key.Binding

	// Dialogs.
	Yes, No, Tab key.Binding
}

// DefaultKeyMap is the console's key map.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, help, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+b", "ctrl+u"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+f", "ctrl+d"}, "pgdn", "page down"),
		Top:      b([]string{"home", "g"}, "g", "top"),
		Bottom:   b([]string{"end", "G"}, "G", "bottom"),
		Enter:    b([]string{"enter"}, "enter", "open"),
		Back:     b([]string{"esc"}, "esc", "back"),
		NextView: b([]string{"tab"}, "tab", "next view"),
		PrevView: b([]string{"shift+tab"}, "S-tab", "prev view"),
		Filter:   b([]string{"/"}, "/", "filter"),
		Command:  b([]string{":"}, ":", "command"),
		Help:     b([]string{"?"}, "?", "help"),
		Quit:     b([]string{"q", "ctrl+c"}, "q", "quit"),
		Sort:     b([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, "1-9", "sort by column"),
		Group:    b([]string{"H"}, "H", "group by hub"),
		Mark:     b([]string{"space"}, "space", "mark for logs"),

		Restart:   b([]string{"r"}, "r", "restart"),
		StartStop: b([]string{"s"}, "s", "start/stop"),
		Kill:      b([]string{"K"}, "K", "kill"),
		Delete:    b([]string{"d"}, "d", "delete"),
		Move:      b([]string{"m"}, "m", "move"),
		Backup:    b([]string{"b"}, "b", "backup"),
		Reboot:    b([]string{"R"}, "R", "reboot hub"),
		New:       b([]string{"n"}, "n", "new"),
		Apply:     b([]string{"a"}, "a", "apply"),
		Logs:      b([]string{"l"}, "l", "logs"),
		Whoami:    b([]string{"w"}, "w", "whoami"),
		Invite:    b([]string{"i"}, "i", "invite"),

		Follow:    b([]string{"f"}, "f", "follow"),
		Pause:     b([]string{"p", "space"}, "p", "pause"),
		Wrap:      b([]string{"w"}, "w", "wrap"),
		NextMatch: b([]string{"n"}, "n", "next match"),
		PrevMatch: b([]string{"N"}, "N", "prev match"),

		Yes: b([]string{"y", "Y"}, "y", "yes"),
		No:  b([]string{"n", "N", "esc"}, "n/esc", "no"),
		Tab: b([]string{"tab", "shift+tab", "down", "up"}, "tab", "next field"),
	}
}

// mutating are the bindings that change the fleet: --read-only hides them
// and refuses them.
func (k *KeyMap) mutating() []*key.Binding {
	return []*key.Binding{&k.Restart, &k.StartStop, &k.Kill, &k.Delete, &k.Move, &k.Backup, &k.Reboot, &k.New, &k.Apply}
}

// ShortHelp is the help bar of the lists.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Enter, k.Filter, k.Command, k.Restart, k.StartStop, k.Logs, k.New, k.Help, k.Quit}
}

// FullHelp is the `?` screen, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Enter, k.Back},
		{k.NextView, k.PrevView, k.Filter, k.Command, k.Sort, k.Group, k.Mark, k.Help, k.Quit},
		{k.Restart, k.StartStop, k.Kill, k.Delete, k.Move, k.Backup, k.New, k.Apply},
		{k.Logs, k.Whoami, k.Invite, k.Reboot},
	}
}
