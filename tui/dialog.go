package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// dialog is a box over the screen that takes the keys until it closes.
// Dialogs never act themselves: they return an action for the root model.
type dialog interface {
	Update(msg tea.KeyPressMsg) dialogResult
	// Render draws the dialog's content in at most width cells.
	Render(width int) string
}

// dialogResult says what a key did to a dialog.
type dialogResult struct {
	close bool
	act   *action // to carry out (with close)
	next  dialog  // to open instead (with close)
	cmd   tea.Cmd
}

// confirmDialog asks yes or no about one action, naming its object.
type confirmDialog struct {
	st     *Styles
	keys   *KeyMap
	title  string
	lines  []string
	yes    string
	danger bool
	act    action
}

func (d *confirmDialog) Update(msg tea.KeyPressMsg) dialogResult {
	switch {
	case key.Matches(msg, d.keys.Yes), msg.String() == "enter":
		a := d.act
		return dialogResult{close: true, act: &a}
	case key.Matches(msg, d.keys.No), key.Matches(msg, d.keys.Quit):
		return dialogResult{close: true}
	}
	return dialogResult{}
}

func (d *confirmDialog) Render(width int) string {
	var b strings.Builder
	title := d.st.DialogTitle.Render(d.title)
	if d.danger {
		title = d.st.Danger.Render(d.title)
	}
	b.WriteString(title + "\n")
	for _, l := range d.lines {
		b.WriteString("\n" + lipgloss.Wrap(l, width, " "))
	}
	b.WriteString("\n\n" + d.st.HelpKey.Render("y") + d.st.HelpDesc.Render(" "+d.yes) + "   " + d.st.HelpKey.Render("n/esc") + d.st.HelpDesc.Render(" cancel"))
	return b.String()
}

// typeNameDialog confirms an action that cannot be undone by having the
// object's name typed.
type typeNameDialog struct {
	st     *Styles
	title  string
	lines  []string
	expect string
	in     field
	err    string
	act    action
}

func (d *typeNameDialog) Update(msg tea.KeyPressMsg) dialogResult {
	switch msg.String() {
	case "esc", "ctrl+c":
		return dialogResult{close: true}
	case "enter":
		if d.in.String() != d.expect {
			d.err = "type " + d.expect + " exactly, or esc to cancel"
			return dialogResult{}
		}
		a := d.act
		return dialogResult{close: true, act: &a}
	}
	d.in.update(msg)
	d.err = ""
	return dialogResult{}
}

func (d *typeNameDialog) Render(width int) string {
	var b strings.Builder
	b.WriteString(d.st.Danger.Render(d.title) + "\n")
	for _, l := range d.lines {
		b.WriteString("\n" + lipgloss.Wrap(l, width, " "))
	}
	b.WriteString("\n\nType " + d.st.HelpKey.Render(d.expect) + " to confirm:\n")
	b.WriteString(d.st.Prompt.Render("> ") + d.in.render(width-2, d.st, true, ""))
	if d.err != "" {
		b.WriteString("\n" + d.st.Danger.Render(d.err))
	}
	b.WriteString("\n" + d.st.HelpDesc.Render("enter confirm · esc cancel"))
	return b.String()
}

// pickOption is one choice of a picker.
type pickOption struct {
	label, value, note string
	disabled           bool
}

// pickerDialog chooses one of a few options (the hub to move a pub to).
type pickerDialog struct {
	st      *Styles
	keys    *KeyMap
	title   string
	lines   []string
	options []pickOption
	cursor  int
	// choose turns the chosen value into what happens next.
	choose func(value string) dialogResult
}

func (d *pickerDialog) Update(msg tea.KeyPressMsg) dialogResult {
	switch {
	case key.Matches(msg, d.keys.Up):
		d.step(-1)
	case key.Matches(msg, d.keys.Down):
		d.step(1)
	case msg.String() == "enter":
		if len(d.options) == 0 || d.options[d.cursor].disabled {
			return dialogResult{}
		}
		return d.choose(d.options[d.cursor].value)
	case msg.String() == "esc", msg.String() == "q":
		return dialogResult{close: true}
	}
	return dialogResult{}
}

func (d *pickerDialog) step(n int) {
	for i := d.cursor + n; i >= 0 && i < len(d.options); i += n {
		if !d.options[i].disabled {
			d.cursor = i
			return
		}
	}
}

func (d *pickerDialog) Render(width int) string {
	var b strings.Builder
	b.WriteString(d.st.DialogTitle.Render(d.title) + "\n")
	for _, l := range d.lines {
		b.WriteString("\n" + lipgloss.Wrap(l, width, " "))
	}
	b.WriteString("\n")
	if len(d.options) == 0 {
		b.WriteString("\n" + d.st.Muted.Render("nothing to choose from"))
	}
	for i, o := range d.options {
		line := "  " + o.label
		if i == d.cursor {
			line = "› " + o.label
		}
		if o.note != "" {
			line += "  " + d.st.Muted.Render(o.note)
		}
		switch {
		case o.disabled:
			line = d.st.Muted.Render(line)
		case i == d.cursor:
			line = d.st.HelpKey.Render(line)
		}
		b.WriteString("\n" + line)
	}
	b.WriteString("\n\n" + d.st.HelpDesc.Render("↑/↓ choose · enter pick · esc cancel"))
	return b.String()
}

// formField is one field of a form: free text, or one of a few choices
// (cycled with ←/→).
type formField struct {
	label   string
	in      field
	choices []string
	hint    string
}

func (f *formField) value() string { return strings.TrimSpace(f.in.String()) }

// formDialog fills in a few fields, then submits them.
type formDialog struct {
	st     *Styles
	title  string
	fields []*formField
	focus  int
	err    string
	// submit checks the values and makes the action, or says what is wrong.
	submit func(values map[string]string) (action, error)
}

func (d *formDialog) values() map[string]string {
	v := map[string]string{}
	for _, f := range d.fields {
		v[f.label] = f.value()
	}
	return v
}

func (d *formDialog) Update(msg tea.KeyPressMsg) dialogResult {
	f := d.fields[d.focus]
	switch msg.String() {
	case "esc", "ctrl+c":
		return dialogResult{close: true}
	case "tab", "down":
		d.focus = (d.focus + 1) % len(d.fields)
		return dialogResult{}
	case "shift+tab", "up":
		d.focus = (d.focus + len(d.fields) - 1) % len(d.fields)
		return dialogResult{}
	case "enter":
		if d.focus < len(d.fields)-1 {
			d.focus++
			return dialogResult{}
		}
		fallthrough
	case "ctrl+s":
		a, err := d.submit(d.values())
		if err != nil {
			d.err = err.Error()
			return dialogResult{}
		}
		return dialogResult{close: true, act: &a}
	case "left", "right":
		if len(f.choices) > 0 {
			i := 0
			for j, c := range f.choices {
				if c == f.value() {
					i = j
				}
			}
			if msg.String() == "left" {
				i = (i + len(f.choices) - 1) % len(f.choices)
			} else {
				i = (i + 1) % len(f.choices)
			}
			f.in.set(f.choices[i])
			return dialogResult{}
		}
	}
	if len(f.choices) == 0 {
		f.in.update(msg)
	}
	d.err = ""
	return dialogResult{}
}

func (d *formDialog) Render(width int) string {
	var b strings.Builder
	b.WriteString(d.st.DialogTitle.Render(d.title) + "\n")
	lw := 0
	for _, f := range d.fields {
		lw = max(lw, width0(f.label))
	}
	for i, f := range d.fields {
		label := fit(f.label, lw, true)
		fw := max(8, width-lw-2)
		var in string
		if len(f.choices) > 0 {
			in = fitLine("‹ "+f.value()+" ›", fw)
			if i == d.focus {
				in = d.st.HelpKey.Render(in)
			}
		} else {
			in = f.in.render(fw, d.st, i == d.focus, "")
		}
		if i == d.focus {
			label = d.st.Prompt.Render(label)
		} else {
			label = d.st.Muted.Render(label)
		}
		b.WriteString("\n" + label + "  " + in)
		if i == d.focus && f.hint != "" {
			b.WriteString("\n" + strings.Repeat(" ", lw+2) + d.st.Muted.Render(fitLine(f.hint, fw)))
		}
	}
	if d.err != "" {
		b.WriteString("\n\n" + d.st.Danger.Render(lipgloss.Wrap(d.err, width, " ")))
	}
	b.WriteString("\n\n" + d.st.HelpDesc.Render("tab next field · ←/→ choose · enter create · esc cancel"))
	return b.String()
}

func width0(s string) int { return width(s) }

// infoDialog shows a result (an invite, an id) until a key closes it.
type infoDialog struct {
	st    *Styles
	title string
	lines []string
	// copyText, when set, is copied again with c.
	copyText string
}

func (d *infoDialog) Update(msg tea.KeyPressMsg) dialogResult {
	if msg.String() == "c" && d.copyText != "" {
		return dialogResult{cmd: tea.SetClipboard(d.copyText)}
	}
	return dialogResult{close: true}
}

func (d *infoDialog) Render(width int) string {
	var b strings.Builder
	b.WriteString(d.st.DialogTitle.Render(d.title) + "\n")
	for _, l := range d.lines {
		b.WriteString("\n" + hardWrap(l, width))
	}
	hint := "any key closes"
	if d.copyText != "" {
		hint = "c copy again (OSC 52) · any other key closes"
	}
	b.WriteString("\n\n" + d.st.HelpDesc.Render(hint))
	return b.String()
}

// hardWrap breaks s every width cells (for ids and invites, which have no
// spaces to wrap at).
func hardWrap(s string, w int) string {
	if w <= 0 || width(s) <= w {
		return s
	}
	var lines []string
	r := []rune(s)
	for len(r) > w {
		lines = append(lines, string(r[:w]))
		r = r[w:]
	}
	return strings.Join(append(lines, string(r)), "\n")
}
