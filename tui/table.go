package tui

import (
	"sort"
	"strings"

	"github.com/buttctl/buttctl/tui/render"
)

// tableRow is a row with what the table derives from it.
type tableRow struct {
	render.Row
	text string // lowercase cells, for the filter
	line string // rendered, unselected, at layout generation gen
	gen  int
}

// tableLine is one line of a table's body: a row, or a group's header.
type tableLine struct {
	row   int // index in view; -1 for a group header
	group string
}

// groupTitle gives the header line of a group and its tone.
type groupTitle func(group string) (string, render.Tone)

// table is a list of rows with a cursor, a filter, a sort column and
// optional groups. Rows are kept sorted and filtered as they change, so that
// rendering only lays out the lines on screen.
type table struct {
	cols  []render.Column
	rows  map[string]*tableRow
	view  []*tableRow    // kept rows, sorted
	pos   map[string]int // key -> index in view
	lines []tableLine    // body lines, group headers included
	line  []int          // view index -> index in lines
	dirty bool           // view must be rebuilt
	moves int            // rows moved since the last sort
	empty string         // said when there is no row

	selKey string
	cursor int
	offset int // first body line on screen
	height int // body lines on screen at the last render

	sortCol int
	desc    bool
	flt     filter

	grouped   bool
	groupRank func(group string) int
	title     groupTitle

	// layout cache
	layW   int
	widths []int // 0: column hidden
	gap    int
	gen    int
}

func newTable(cols []render.Column, empty string) *table {
	return &table{cols: cols, rows: map[string]*tableRow{}, pos: map[string]int{}, empty: empty, dirty: true, height: 10}
}

// cellSep separates the cells of a row's searchable text: no filter
// matches across two cells.
const cellSep = 0

func searchable(r render.Row) string {
	var b strings.Builder
	for i, c := range r.Cells {
		if i > 0 {
			b.WriteByte(cellSep)
		}
		b.WriteString(strings.ToLower(c.Text))
	}
	return b.String()
}

// set replaces every row.
func (t *table) set(rows []render.Row) {
	t.rows = make(map[string]*tableRow, len(rows))
	for _, r := range rows {
		t.rows[r.Key] = &tableRow{Row: r, text: searchable(r)}
	}
	t.dirty = true
}

// upsert adds or changes one row, moving it to its place if its sort key
// changed: no full re-sort for a single change.
func (t *table) upsert(r render.Row) {
	tr, ok := t.rows[r.Key]
	if !ok {
		t.rows[r.Key] = &tableRow{Row: r, text: searchable(r)}
		t.dirty = true
		return
	}
	tr.Row, tr.text, tr.line = r, searchable(r), ""
	if t.dirty {
		return
	}
	i, shown := t.pos[r.Key]
	if shown != t.flt.match(tr.text) {
		t.dirty = true
		return
	}
	if !shown {
		return
	}
	if (i > 0 && t.less(t.view[i], t.view[i-1])) || (i < len(t.view)-1 && t.less(t.view[i+1], t.view[i])) {
		t.move(i)
	}
}

// remove deletes a row.
func (t *table) remove(key string) {
	if _, ok := t.rows[key]; ok {
		delete(t.rows, key)
		t.dirty = true
	}
}

// get returns a row.
func (t *table) get(key string) (render.Row, bool) {
	r, ok := t.rows[key]
	if !ok {
		return render.Row{}, false
	}
	return r.Row, true
}

// move puts view[i], whose sort key changed, back in order: in place,
// shifting the rows between its old and new places. After many moves since
// the last sort, one sort is cheaper: the view is rebuilt instead.
func (t *table) move(i int) {
	if t.moves++; t.moves > maxMoves {
		t.dirty = true
		return
	}
	r := t.view[i]
	group := r.Group
	// where it goes among the others (which are in order)
	j := sort.Search(len(t.view)-1, func(k int) bool {
		if k >= i {
			k++
		}
		return t.less(r, t.view[k])
	})
	if j > i {
		copy(t.view[i:j], t.view[i+1:j+1])
	} else {
		copy(t.view[j+1:i+1], t.view[j:i])
	}
	t.view[j] = r
	lo, hi := min(i, j), max(i, j)
	for k := lo; k <= hi; k++ {
		t.pos[t.view[k].Key] = k
	}
	if t.grouped && (t.view[min(i, j)].Group != group || t.view[max(i, j)].Group != group) {
		t.layoutLines()
	}
	t.follow()
}

// maxMoves is how many rows may move between two full sorts.
const maxMoves = 64

func (t *table) less(a, b *tableRow) bool {
	if t.grouped {
		ra, rb := t.rank(a.Group), t.rank(b.Group)
		if ra != rb {
			return ra < rb
		}
		if a.Group != b.Group {
			return a.Group < b.Group
		}
	}
	if t.sortCol < len(a.Cells) && t.sortCol < len(b.Cells) {
		c := render.Compare(a.Cells[t.sortCol], b.Cells[t.sortCol])
		if t.desc {
			c = -c
		}
		if c != 0 {
			return c < 0
		}
	}
	return a.Key < b.Key
}

func (t *table) rank(group string) int {
	if t.groupRank == nil {
		return 0
	}
	return t.groupRank(group)
}

// ensure rebuilds the kept, sorted rows if anything invalidated them.
func (t *table) ensure() {
	if !t.dirty {
		return
	}
	t.dirty = false
	t.view = t.view[:0]
	for _, r := range t.rows {
		if t.flt.match(r.text) {
			t.view = append(t.view, r)
		}
	}
	sort.Slice(t.view, func(i, j int) bool { return t.less(t.view[i], t.view[j]) })
	t.moves = 0
	clear(t.pos)
	for i, r := range t.view {
		t.pos[r.Key] = i
	}
	t.layoutLines()
	t.follow()
}

// follow puts the cursor back on the selected row after the rows changed.
func (t *table) follow() {
	if i, ok := t.pos[t.selKey]; ok {
		t.cursor = i
	} else {
		t.cursor = max(0, min(t.cursor, len(t.view)-1))
		if len(t.view) > 0 {
			t.selKey = t.view[t.cursor].Key
		}
	}
}

func (t *table) layoutLines() {
	t.lines = t.lines[:0]
	t.line = t.line[:0]
	prev := "\x00"
	for i, r := range t.view {
		if t.grouped && r.Group != prev {
			t.lines = append(t.lines, tableLine{row: -1, group: r.Group})
			prev = r.Group
		}
		t.line = append(t.line, len(t.lines))
		t.lines = append(t.lines, tableLine{row: i, group: r.Group})
	}
}

// setFilter applies what was typed after `/`.
func (t *table) setFilter(s string) {
	if s == t.flt.raw {
		return
	}
	t.flt = parseFilter(s)
	t.dirty = true
}

// sortBy sorts by column i; sorting again by the same column reverses it.
func (t *table) sortBy(i int) {
	if i < 0 || i >= len(t.cols) {
		return
	}
	if t.sortCol == i {
		t.desc = !t.desc
	} else {
		t.sortCol, t.desc = i, false
	}
	t.dirty = true
}

// setGrouped turns grouping (by hub) on or off.
func (t *table) setGrouped(on bool) {
	if t.grouped != on {
		t.grouped = on
		t.dirty = true
	}
}

// invalidate drops the rendered lines (after a palette change).
func (t *table) invalidate() { t.gen++ }

// len is the number of kept rows.
func (t *table) len() int { t.ensure(); return len(t.view) }

// selected is the key of the row under the cursor ("" for none).
func (t *table) selected() string {
	t.ensure()
	if len(t.view) == 0 {
		return ""
	}
	return t.view[t.cursor].Key
}

// selectKey puts the cursor on a row, if it is shown.
func (t *table) selectKey(key string) {
	t.ensure()
	if i, ok := t.pos[key]; ok {
		t.cursor, t.selKey = i, key
	}
}

// moveBy moves the cursor by n rows (negative: up).
func (t *table) moveBy(n int) {
	t.ensure()
	if len(t.view) == 0 {
		return
	}
	t.cursor = max(0, min(len(t.view)-1, t.cursor+n))
	t.selKey = t.view[t.cursor].Key
}

func (t *table) top()      { t.moveBy(-len(t.rows)) }
func (t *table) bottom()   { t.moveBy(len(t.rows)) }
func (t *table) pageDown() { t.moveBy(max(1, t.height-1)) }
func (t *table) pageUp()   { t.moveBy(-max(1, t.height-1)) }

// clickLine selects the row on body line y of the last render; it reports
// whether there was one.
func (t *table) clickLine(y int) bool {
	t.ensure()
	l := t.offset + y
	if y < 0 || l >= len(t.lines) || t.lines[l].row < 0 {
		return false
	}
	t.cursor = t.lines[l].row
	t.selKey = t.view[t.cursor].Key
	return true
}

// columnAt is the column under screen column x of the last render (-1: none).
func (t *table) columnAt(x int) int {
	pos := 1
	for i, w := range t.widths {
		if w == 0 {
			continue
		}
		if x >= pos && x < pos+w+t.gap {
			return i
		}
		pos += w + t.gap
	}
	return -1
}

// layout decides the columns' widths for a screen width: the columns of
// highest Priority go first when there is no room; Flex columns share what
// is left.
func (t *table) layout(w int) {
	if w == t.layW && t.widths != nil {
		return
	}
	t.layW = w
	t.gen++
	t.widths = make([]int, len(t.cols))
	shown := make([]bool, len(t.cols))
	for i := range shown {
		shown[i] = true
	}
	total := func(gap int) int {
		n, sum := 0, 1 // the cursor's margin
		for i, c := range t.cols {
			if shown[i] {
				sum += c.Width
				n++
			}
		}
		return sum + gap*max(0, n-1)
	}
	t.gap = 2
	for total(t.gap) > w {
		if t.gap == 2 && total(1) <= w {
			t.gap = 1
			break
		}
		drop := -1
		for i, c := range t.cols {
			if shown[i] && c.Priority > 0 && (drop < 0 || c.Priority >= t.cols[drop].Priority) {
				drop = i
			}
		}
		if drop < 0 {
			t.gap = 1
			break
		}
		shown[drop] = false
	}
	flex := 0
	for i, c := range t.cols {
		if shown[i] {
			t.widths[i] = c.Width
			flex += c.Flex
		}
	}
	extra := w - total(t.gap)
	if extra > 0 && flex > 0 {
		last, given := -1, 0
		for i, c := range t.cols {
			if shown[i] && c.Flex > 0 {
				add := extra * c.Flex / flex
				t.widths[i] += add
				given += add
				last = i
			}
		}
		t.widths[last] += extra - given
	}
	for ; extra < 0; extra++ { // even the essential columns do not fit: squeeze the widest
		widest := 0
		for i, w := range t.widths {
			if w > t.widths[widest] {
				widest = i
			}
		}
		if t.widths[widest] <= 3 {
			break
		}
		t.widths[widest]--
	}
}

// header renders the column titles, the sort column marked.
func (t *table) header(st *Styles) string {
	var b strings.Builder
	b.WriteByte(' ')
	first := true
	for i, c := range t.cols {
		w := t.widths[i]
		if w == 0 {
			continue
		}
		if !first {
			b.WriteString(strings.Repeat(" ", t.gap))
		}
		first = false
		title := c.Title
		p := st.Header
		if i == t.sortCol {
			p = st.HeaderSort
			if t.desc {
				title += "↓"
			} else {
				title += "↑"
			}
		}
		b.WriteString(p.on(fit(title, w, c.Right)))
	}
	return fitLine(b.String(), t.layW)
}

func (t *table) renderRow(r *tableRow, sel bool, st *Styles) string {
	if !sel && r.gen == t.gen && r.line != "" {
		return r.line
	}
	var b strings.Builder
	tones := &st.tone
	gap := strings.Repeat(" ", t.gap)
	if sel {
		tones = &st.toneSel
		b.WriteString(st.gapSel.on("›"))
		gap = st.gapSel.on(gap)
	} else {
		b.WriteByte(' ')
	}
	used := 1
	first := true
	for i, c := range t.cols {
		w := t.widths[i]
		if w == 0 {
			continue
		}
		if !first {
			b.WriteString(gap)
			used += t.gap
		}
		first = false
		var cell render.Cell
		if i < len(r.Cells) {
			cell = r.Cells[i]
		}
		b.WriteString(tones[cell.Tone].on(fit(cell.Text, w, c.Right)))
		used += w
	}
	if pad := t.layW - used; pad > 0 {
		if sel {
			b.WriteString(st.gapSel.on(strings.Repeat(" ", pad)))
		} else {
			b.WriteString(strings.Repeat(" ", pad))
		}
	}
	line := b.String()
	if used > t.layW {
		line = fitLine(line, t.layW)
	}
	if !sel {
		r.line, r.gen = line, t.gen
	}
	return line
}

// render lays out the header and height body lines at width w.
func (t *table) render(w, height int, st *Styles) []string {
	t.ensure()
	t.layout(w)
	t.height = height
	out := make([]string, 0, height+1)
	out = append(out, t.header(st))
	if len(t.view) == 0 {
		msg := t.empty
		if t.flt.active() {
			msg = "no row matches /" + t.flt.raw + "  (esc clears the filter)"
		}
		out = append(out, fitLine("  "+st.Muted.Render(msg), w))
		for len(out) < height+1 {
			out = append(out, strings.Repeat(" ", w))
		}
		return out
	}
	// keep the cursor's line (and its group's header) on screen
	cl := t.line[t.cursor]
	if cl < t.offset {
		t.offset = cl
		if cl > 0 && t.lines[cl-1].row < 0 {
			t.offset = cl - 1
		}
	}
	if cl >= t.offset+height {
		t.offset = cl - height + 1
	}
	t.offset = max(0, min(t.offset, len(t.lines)-height))
	for i := 0; i < height; i++ {
		l := t.offset + i
		if l >= len(t.lines) {
			out = append(out, strings.Repeat(" ", w))
			continue
		}
		ln := t.lines[l]
		if ln.row < 0 {
			out = append(out, t.groupLine(ln.group, w, st))
			continue
		}
		out = append(out, t.renderRow(t.view[ln.row], ln.row == t.cursor, st))
	}
	return out
}

func (t *table) groupLine(group string, w int, st *Styles) string {
	text, tone := group, render.ToneNormal
	if t.title != nil {
		text, tone = t.title(group)
	}
	if group == "" {
		text = "(no hub)"
	}
	line := st.Group.on("▾ ") + st.tone[tone].on(text)
	return fitLine(line, w)
}
