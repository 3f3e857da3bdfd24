package tui

import (
	"strings"
	"unicode"

	tea "charm.land/bubbletea/v2"
)

// field is a one-line text input: typing, backspace, delete, ←/→, home/end
// (ctrl+a/e), ctrl+u and ctrl+w. It draws its own cursor, so its rendering
// depends on nothing but its value.
type field struct {
	value []rune
	pos   int
	limit int
}

func (f *field) String() string { return string(f.value) }

func (f *field) set(s string) {
	f.value = []rune(s)
	f.pos = len(f.value)
}

func (f *field) insert(s string) {
	rs := []rune(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s))
	if f.limit > 0 && len(f.value)+len(rs) > f.limit {
		rs = rs[:max(0, f.limit-len(f.value))]
	}
	v := make([]rune, 0, len(f.value)+len(rs))
	v = append(v, f.value[:f.pos]...)
	v = append(v, rs...)
	v = append(v, f.value[f.pos:]...)
	f.value = v
	f.pos += len(rs)
}

// update edits the field with a key; it reports whether the key was one of
// the field's.
func (f *field) update(msg tea.KeyPressMsg) bool {
	switch msg.String() {
	case "backspace", "ctrl+h":
		if f.pos > 0 {
			f.value = append(f.value[:f.pos-1], f.value[f.pos:]...)
			f.pos--
		}
	case "delete", "ctrl+d":
		if f.pos < len(f.value) {
			f.value = append(f.value[:f.pos], f.value[f.pos+1:]...)
		}
	case "left", "ctrl+b":
		f.pos = max(0, f.pos-1)
	case "right", "ctrl+f":
		f.pos = min(len(f.value), f.pos+1)
	case "home", "ctrl+a":
		f.pos = 0
	case "end", "ctrl+e":
		f.pos = len(f.value)
	case "ctrl+u":
		f.value = append([]rune(nil), f.value[f.pos:]...)
		f.pos = 0
	case "ctrl+w":
		i := f.pos
		for i > 0 && f.value[i-1] == ' ' {
			i--
		}
		for i > 0 && f.value[i-1] != ' ' {
			i--
		}
		f.value = append(f.value[:i], f.value[f.pos:]...)
		f.pos = i
	default:
		if msg.Text == "" || msg.Mod&(tea.ModCtrl|tea.ModAlt) != 0 {
			return false
		}
		f.insert(msg.Text)
	}
	return true
}

// render draws the field in w cells with a block cursor; ghost is greyed
// text shown after the cursor (a completion).
func (f *field) render(w int, st *Styles, focused bool, ghost string) string {
	v := f.value
	start := 0
	if f.pos >= w-1 { // keep the cursor in view
		start = f.pos - (w - 2)
	}
	var b strings.Builder
	b.WriteString(string(v[start:f.pos]))
	if focused {
		under := " "
		if f.pos < len(v) {
			under = string(v[f.pos])
		} else if ghost != "" {
			r := []rune(ghost)
			under, ghost = string(r[0]), string(r[1:])
		}
		b.WriteString(st.Cursor.Render(under))
		if f.pos < len(v) {
			b.WriteString(string(v[f.pos+1:]))
		}
	} else {
		b.WriteString(string(v[f.pos:]))
	}
	if ghost != "" {
		b.WriteString(st.Muted.Render(ghost))
	}
	return fitLine(b.String(), w)
}
