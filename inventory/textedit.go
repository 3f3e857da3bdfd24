package inventory

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// textDoc is an inventory's text as lines, edited in place so that whatever
// an edit does not touch (comments, blank lines, quoting, indentation) stays
// byte for byte. Each edit returns false when the text is shaped in a way it
// does not handle; the Editor then falls back on re-encoding the node tree.
// Either way the Editor checks that the new text says what the edited node
// tree says before it keeps it.
type textDoc struct {
	lines []string
	// final reports whether the text ended with a newline.
	final bool
	doc   *yaml.Node   // the text parsed: positions refer to lines
	order []*yaml.Node // doc's nodes in document order
	size  map[*yaml.Node]int
	index map[*yaml.Node]int
}

func newTextDoc(text []byte, doc *yaml.Node) (*textDoc, bool) {
	if bytes.IndexByte(text, '\r') >= 0 || !utf8.Valid(text) {
		return nil, false
	}
	s := string(text)
	t := &textDoc{final: strings.HasSuffix(s, "\n"), doc: doc, size: map[*yaml.Node]int{}, index: map[*yaml.Node]int{}}
	t.lines = strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	t.walk(doc)
	return t, true
}

func (t *textDoc) walk(n *yaml.Node) int {
	t.index[n] = len(t.order)
	t.order = append(t.order, n)
	size := 1
	for _, c := range n.Content {
		size += t.walk(c)
	}
	t.size[n] = size
	return size
}

func (t *textDoc) bytes() []byte {
	s := strings.Join(t.lines, "\n")
	if t.final {
		s += "\n"
	}
	return []byte(s)
}

// byteCol turns a node's 1-based rune column on line into a byte index.
func (t *textDoc) byteCol(line, col int) (int, bool) {
	if line < 1 || line > len(t.lines) || col < 1 {
		return 0, false
	}
	s := t.lines[line-1]
	i := 0
	for c := 1; c < col; c++ {
		if i >= len(s) {
			return 0, false
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return i, true
}

func blankOrComment(line string) bool {
	s := strings.TrimSpace(line)
	return s == "" || s[0] == '#'
}

// endLine is the last line holding n's text: the last line before whatever
// comes next in the document that is not blank or only a comment.
func (t *textDoc) endLine(n *yaml.Node) int {
	next := len(t.lines) + 1
	if j := t.index[n] + t.size[n]; j < len(t.order) {
		next = t.order[j].Line
	}
	for l := next - 1; l > n.Line; l-- {
		if !blankOrComment(t.lines[l-1]) {
			return l
		}
	}
	return n.Line
}

func (t *textDoc) insertLines(after int, lines []string) {
	out := make([]string, 0, len(t.lines)+len(lines))
	out = append(out, t.lines[:after]...)
	out = append(out, lines...)
	t.lines = append(out, t.lines[after:]...)
}

func (t *textDoc) deleteLines(from, to int) {
	t.lines = append(t.lines[:from-1], t.lines[to:]...)
}

// scalarSpan returns where scalar n's text sits on its line: [start, end).
func (t *textDoc) scalarSpan(n *yaml.Node) (line, start, end int, ok bool) {
	if n.Kind != yaml.ScalarNode || n.Anchor != "" || strings.ContainsRune(n.Value, '\n') {
		return 0, 0, 0, false
	}
	start, ok = t.byteCol(n.Line, n.Column)
	if !ok && !(n.Value == "" && n.Line <= len(t.lines)) {
		return 0, 0, 0, false
	}
	if !ok { // an empty value just past the end of its line
		start = len(t.lines[n.Line-1])
	}
	s := t.lines[n.Line-1]
	switch n.Style {
	case 0:
		if !strings.HasPrefix(s[start:], n.Value) {
			return 0, 0, 0, false
		}
		return n.Line, start, start + len(n.Value), true
	case yaml.DoubleQuotedStyle:
		for i := start + 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return n.Line, start, i + 1, true
			}
		}
	case yaml.SingleQuotedStyle:
		for i := start + 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					i++
					continue
				}
				return n.Line, start, i + 1, true
			}
		}
	}
	return 0, 0, 0, false
}

// replaceScalar writes text in place of scalar n.
func (t *textDoc) replaceScalar(n *yaml.Node, text string) bool {
	line, start, end, ok := t.scalarSpan(n)
	if !ok {
		return false
	}
	s := t.lines[line-1]
	if n.Value == "" && n.Style == 0 && (start == 0 || s[start-1] != ' ') {
		text = " " + text
	}
	t.lines[line-1] = s[:start] + text + s[end:]
	return true
}

// closer finds the bracket closing the flow collection whose opener is at
// (line, byte index), skipping quoted text and comments.
func (t *textDoc) closer(line, at int) (int, int, bool) {
	depth := 0
	var quote byte
	for l := line; l <= len(t.lines); l++ {
		s := t.lines[l-1]
		i := 0
		if l == line {
			i = at
		}
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case quote == '"':
				if c == '\\' {
					i++
				} else if c == '"' {
					quote = 0
				}
			case quote == '\'':
				if c == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						i++
					} else {
						quote = 0
					}
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
				i = len(s)
			case c == '[' || c == '{':
				depth++
			case c == ']' || c == '}':
				depth--
				if depth == 0 {
					return l, i, true
				}
			}
		}
	}
	return 0, 0, false
}

// insertInFlow adds entry as the last element of the one-line flow
// collection n ({...} or [...]).
func (t *textDoc) insertInFlow(n *yaml.Node, entry string) bool {
	if n.Anchor != "" || n.Style&yaml.FlowStyle == 0 {
		return false
	}
	open, ok := t.byteCol(n.Line, n.Column)
	if !ok {
		return false
	}
	cl, ci, ok := t.closer(n.Line, open)
	if !ok || cl != n.Line {
		return false
	}
	s := t.lines[cl-1]
	before := strings.TrimRight(s[open+1:ci], " \t")
	last := open + 1 + len(before)
	switch {
	case before == "":
		t.lines[cl-1] = s[:open+1] + entry + s[ci:]
	case strings.HasSuffix(before, ","):
		t.lines[cl-1] = s[:last] + " " + entry + s[last:]
	default:
		t.lines[cl-1] = s[:last] + ", " + entry + s[last:]
	}
	return true
}

// indentOf is n's column as spaces.
func indentOf(n *yaml.Node) string { return strings.Repeat(" ", n.Column-1) }

// setKey sets key in mapping m to the one-line value text, replacing the
// value if the key is there and adding the key as m's last one if not.
func (t *textDoc) setKey(m *yaml.Node, key, text string) bool {
	if m.Kind != yaml.MappingNode || m.Anchor != "" {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return t.replaceScalar(m.Content[i+1], text)
		}
	}
	if m.Style&yaml.FlowStyle != 0 {
		return t.insertInFlow(m, key+": "+text)
	}
	if len(m.Content) == 0 {
		return false
	}
	t.insertLines(t.endLine(m), []string{indentOf(m) + key + ": " + text})
	return true
}

// deleteKey removes key and its one-line value from block mapping m. The
// first key of a list item shares its line with the '-' and is left to the
// fallback.
func (t *textDoc) deleteKey(m *yaml.Node, key string) bool {
	if m.Kind != yaml.MappingNode || m.Style&yaml.FlowStyle != 0 {
		return false
	}
	for i := 2; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Value == key {
			if v.Kind != yaml.ScalarNode || t.endLine(v) != k.Line || v.Line != k.Line {
				return false
			}
			t.deleteLines(k.Line, k.Line)
			return true
		}
	}
	return false
}

// dashLine finds the line of the '-' that starts item of block sequence seq.
func (t *textDoc) dashLine(seq, item *yaml.Node) (int, bool) {
	for l := item.Line; l >= seq.Line && l >= 1; l-- {
		i, ok := t.byteCol(l, seq.Column)
		if ok && i < len(t.lines[l-1]) && t.lines[l-1][i] == '-' && strings.TrimSpace(t.lines[l-1][:i]) == "" {
			return l, true
		}
		if l < item.Line && !blankOrComment(t.lines[l-1]) {
			return 0, false
		}
	}
	return 0, false
}

// appendItem adds an item (its lines as block YAML, or flow: one line) as the
// last entry of the list under key of the top-level mapping root.
func (t *textDoc) appendItem(root *yaml.Node, key string, block []string, flow string) bool {
	var k, seq *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key {
			k, seq = root.Content[i], root.Content[i+1]
		}
	}
	item := func(dash string) []string {
		out := make([]string, len(block))
		for i, l := range block {
			if i == 0 {
				out[i] = dash + "- " + l
			} else {
				out[i] = dash + "  " + l
			}
		}
		return out
	}
	switch {
	case k == nil:
		if root.Style&yaml.FlowStyle != 0 || len(root.Content) == 0 {
			return false
		}
		lines := append([]string{indentOf(root) + key + ":"}, item(indentOf(root)+"  ")...)
		t.insertLines(t.endLine(root), lines)
		return true
	case seq.Anchor != "" || k.Line < 1:
		return false
	case isNull(seq) && seq.Value == "":
		t.insertLines(k.Line, item(indentOf(k)+"  "))
		return true
	case seq.Kind != yaml.SequenceNode:
		return false
	case seq.Style&yaml.FlowStyle != 0 && len(seq.Content) == 0 && seq.Line == k.Line:
		// key: [] becomes a block list, keeping a comment on the line.
		open, ok := t.byteCol(seq.Line, seq.Column)
		if !ok {
			return false
		}
		cl, ci, ok := t.closer(seq.Line, open)
		if !ok || cl != seq.Line {
			return false
		}
		s := t.lines[cl-1]
		rest := strings.TrimLeft(s[ci+1:], " \t")
		line := strings.TrimRight(s[:open], " \t")
		if rest != "" {
			line += " " + rest
		}
		t.lines[cl-1] = line
		t.insertLines(cl, item(indentOf(k)+"  "))
		return true
	case seq.Style&yaml.FlowStyle != 0:
		return flow != "" && t.insertInFlow(seq, flow)
	default:
		last := seq.Content[len(seq.Content)-1]
		if last.Kind == yaml.MappingNode && last.Style&yaml.FlowStyle != 0 && flow != "" {
			t.insertLines(t.endLine(seq), []string{indentOf(seq) + "- " + flow})
			return true
		}
		t.insertLines(t.endLine(seq), item(indentOf(seq)))
		return true
	}
}

// removeItem deletes entry i of the block list under key k; when it was
// the last entry, the list is written as [] so it stays a list.
func (t *textDoc) removeItem(k, seq *yaml.Node, i int) bool {
	if seq.Kind != yaml.SequenceNode || seq.Style&yaml.FlowStyle != 0 || seq.Anchor != "" {
		return false
	}
	item := seq.Content[i]
	from, ok := t.dashLine(seq, item)
	if !ok {
		return false
	}
	to := t.endLine(item)
	if len(seq.Content) == 1 {
		// key: (then the lone item) becomes key: []
		start, ok := t.byteCol(k.Line, k.Column)
		if !ok || k.Style != 0 || k.Line >= from {
			return false
		}
		s := t.lines[k.Line-1]
		colon := start + len(k.Value)
		if colon >= len(s) || s[colon] != ':' || !blankOrComment(s[colon+1:]) {
			return false
		}
		t.lines[k.Line-1] = s[:colon+1] + " []" + s[colon+1:]
	}
	t.deleteLines(from, to)
	return true
}
