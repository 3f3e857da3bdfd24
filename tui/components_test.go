package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/buttctl/buttctl/tui/render"
)

func row(key, group string, n float64, text ...string) render.Row {
	r := render.Row{Key: key, Group: group}
	r.Cells = append(r.Cells, render.Text(key), render.Number(fmt.Sprint(n), n, render.ToneNormal))
	for _, s := range text {
		r.Cells = append(r.Cells, render.Text(s))
	}
	return r
}

var testCols = []render.Column{{Title: "NAME", Width: 8, Flex: 1}, {Title: "N", Width: 4, Right: true, Priority: 2}, {Title: "NOTE", Width: 10, Flex: 1, Priority: 1}}

func keys(t *table) string {
	t.ensure()
	var ks []string
	for _, r := range t.view {
		ks = append(ks, r.Key)
	}
	return strings.Join(ks, " ")
}

func TestTableSortsFiltersAndFollowsTheSelection(t *testing.T) {
	tb := newTable(testCols, "empty")
	tb.set([]render.Row{row("c", "g2", 1, "x"), row("a", "g1", 3, "y"), row("b", "g1", 2, "x")})
	if got := keys(tb); got != "a b c" {
		t.Errorf("by name: %s", got)
	}
	tb.selectKey("b")
	tb.sortBy(1)
	if got := keys(tb); got != "c b a" || tb.selected() != "b" {
		t.Errorf("by number: %s, selected %s", got, tb.selected())
	}
	tb.sortBy(1)
	if got := keys(tb); got != "a b c" {
		t.Errorf("by number, reversed: %s", got)
	}
	tb.setFilter("x")
	if got := keys(tb); got != "b c" || tb.selected() != "b" {
		t.Errorf("filter x: %s (selected %s)", got, tb.selected())
	}
	tb.setFilter("!x")
	if got := keys(tb); got != "a" || tb.selected() != "a" {
		t.Errorf("filter !x: %s; the cursor moves to what is left (%s)", got, tb.selected())
	}
	tb.setFilter("")
	tb.setGrouped(true)
	tb.groupRank = func(g string) int { return map[string]int{"g2": 0, "g1": 1}[g] }
	tb.dirty = true
	if got := keys(tb); got != "c a b" {
		t.Errorf("grouped, g2 first, then by number reversed within groups: %s", got)
	}
	if n := len(tb.lines); n != 5 {
		t.Errorf("2 group headers + 3 rows = 5 lines, got %d", n)
	}
}

func TestTableUpsertMovesOneRow(t *testing.T) {
	tb := newTable(testCols, "empty")
	var rows []render.Row
	for i := range 100 {
		rows = append(rows, row(fmt.Sprintf("r%03d", i), "", float64(i)))
	}
	tb.set(rows)
	tb.sortBy(1)
	tb.ensure()
	tb.selectKey("r050")
	tb.upsert(row("r050", "", 1000))
	if tb.dirty {
		t.Fatal("a changed sort key moves the row; no full rebuild")
	}
	if got := tb.view[99].Key; got != "r050" || tb.selected() != "r050" || tb.cursor != 99 {
		t.Errorf("the row moved to the end: last %s, cursor %d on %s", got, tb.cursor, tb.selected())
	}
	for i := 1; i < len(tb.view); i++ {
		if tb.less(tb.view[i], tb.view[i-1]) {
			t.Fatalf("out of order at %d", i)
		}
	}
	for k, i := range tb.pos {
		if tb.view[i].Key != k {
			t.Fatalf("pos[%s]=%d but view[%d]=%s", k, i, i, tb.view[i].Key)
		}
	}
	tb.setFilter("r00")
	tb.ensure()
	tb.upsert(row("r070", "", 5))
	if !tb.dirty == tb.flt.match(searchable(row("r070", "", 5))) {
		t.Error("a row that starts matching the filter rebuilds the view")
	}
}

func TestTableLayoutDropsColumnsByPriority(t *testing.T) {
	tb := newTable(testCols, "empty")
	tb.set([]render.Row{row("a", "", 1, "note")})
	st := NewStyles(true)
	wide := tb.render(40, 3, &st)
	if !strings.Contains(ansi.Strip(wide[0]), "NOTE") || !strings.Contains(ansi.Strip(wide[0]), "N") {
		t.Errorf("40 columns show all: %q", ansi.Strip(wide[0]))
	}
	narrow := tb.render(20, 3, &st)
	h := ansi.Strip(narrow[0])
	if strings.Contains(h, " N ") || !strings.Contains(h, "NOTE") {
		t.Errorf("20 columns drop N (priority 2) before NOTE (1): %q", h)
	}
	for _, l := range append(wide, narrow...) {
		if w := ansi.StringWidth(l); w != 40 && w != 20 {
			t.Errorf("line width %d: %q", w, l)
		}
	}
}

func TestTableScrollKeepsCursorAndGroupHeaderOnScreen(t *testing.T) {
	tb := newTable(testCols, "empty")
	var rows []render.Row
	for i := range 30 {
		rows = append(rows, row(fmt.Sprintf("r%02d", i), fmt.Sprintf("g%d", i/10), float64(i)))
	}
	tb.set(rows)
	tb.setGrouped(true)
	st := NewStyles(true)
	tb.render(30, 5, &st)
	tb.moveBy(12) // r12, in g1
	out := tb.render(30, 5, &st)
	body := ansi.Strip(strings.Join(out[1:], "\n"))
	if !strings.Contains(body, "›r12") {
		t.Errorf("the cursor's row is on screen:\n%s", body)
	}
	tb.top()
	tb.render(30, 5, &st)
	tb.moveBy(10) // r10: first of g1, scrolled to from above: its header comes along
	out = tb.render(30, 5, &st)
	header := -1
	for i, l := range out[1:] {
		if strings.Contains(ansi.Strip(l), "▾ g1") {
			header = i
		}
	}
	if header < 0 || !strings.Contains(ansi.Strip(out[header+2]), "›r10") {
		t.Fatalf("r10 on screen under its group's header:\n%s", ansi.Strip(strings.Join(out, "\n")))
	}
	tb.moveBy(-5)
	if !tb.clickLine(header+1) || tb.selected() != "r10" {
		t.Errorf("a click on the line under the header selects r10: %s", tb.selected())
	}
	if tb.clickLine(header) {
		t.Error("a click on a group header selects nothing")
	}
}

func TestFilterParse(t *testing.T) {
	cases := []struct {
		f, text string
		want    bool
	}{
		{"Hub-1", "scuttle-1\x00hub-1", true},
		{"!hub-1", "scuttle-1\x00hub-1", false},
		{"~sct1", "scuttle-1\x00hub-1", true},
		{"~s1h", "scuttle-1\x00hub-1", false}, // fuzzy does not span cells
		{"le-1\x00hu", "scuttle-1\x00hub-1", true},
		{"", "anything", true},
		{"!", "anything", true},
	}
	for _, c := range cases {
		if got := parseFilter(c.f).match(c.text); got != c.want {
			t.Errorf("%q on %q = %v", c.f, c.text, got)
		}
	}
}

func TestField(t *testing.T) {
	var f field
	for _, k := range []tea.KeyPressMsg{{Code: 'a', Text: "a"}, {Code: 'b', Text: "b"}, {Code: tea.KeyLeft}, {Code: 'X', Text: "X"}} {
		f.update(k)
	}
	if f.String() != "aXb" || f.pos != 2 {
		t.Fatalf("%q at %d", f.String(), f.pos)
	}
	f.set("one two three")
	f.update(tea.KeyPressMsg{Code: 'w', Mod: tea.ModCtrl})
	if f.String() != "one two " {
		t.Errorf("ctrl+w: %q", f.String())
	}
	f.update(tea.KeyPressMsg{Code: 'a', Mod: tea.ModCtrl})
	f.update(tea.KeyPressMsg{Code: tea.KeyDelete})
	if f.String() != "ne two " {
		t.Errorf("home, delete: %q", f.String())
	}
	f.insert("\x1b[31mred\x07")
	if strings.ContainsAny(f.String(), "\x1b\x07") {
		t.Errorf("control characters are not inserted: %q", f.String())
	}
	if f.update(tea.KeyPressMsg{Code: 'x', Mod: tea.ModAlt, Text: "x"}) {
		t.Error("alt+x is not typing")
	}
}

func TestMailboxNeverBlocksAndCountsDrops(t *testing.T) {
	box := newMailbox[int](100)
	done := make(chan struct{})
	go func() { // nobody reads: put must still return
		for i := range 100_000 {
			box.put(i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("put blocked with nobody reading")
	}
	items, dropped, open := box.take(context.Background())
	if len(items) != 100 || dropped != 99_900 || !open || items[0] != 99_900 || items[99] != 99_999 {
		t.Errorf("took %d (first %d), dropped %d, open %v", len(items), items[0], dropped, open)
	}
	box.close()
	if _, _, open := box.take(context.Background()); open {
		t.Error("closed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if items, _, open := newMailbox[int](1).take(ctx); items != nil || open {
		t.Error("take returns when ctx is done")
	}
}

func TestLineWriterSplitsAndCleans(t *testing.T) {
	box := newMailbox[logLine](100)
	w := &lineWriter{box: box, src: 1}
	fmt.Fprint(w, "first\nsec")
	fmt.Fprint(w, "ond\x1b]52;c;ZXZpbA==\x07\n\x1b[2Jthird\ttab\r\nfour")
	w.flush()
	lines, _, _ := box.take(context.Background())
	var got []string
	for _, l := range lines {
		got = append(got, l.text)
		if l.src != 1 {
			t.Errorf("source %d", l.src)
		}
	}
	want := []string{"first", "second", "third tab", "four"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q (escape sequences from a pub never reach the terminal)", got, want)
	}
	long := strings.Repeat("x", 3*maxLineBytes)
	fmt.Fprint(w, long+"\n")
	lines, _, _ = box.take(context.Background())
	for _, l := range lines {
		if len(l.text) > maxLineBytes+len("…") {
			t.Errorf("a line of %d bytes", len(l.text))
		}
	}
}

func TestLogsRingIsBounded(t *testing.T) {
	r := newLogRing(5)
	for i := range 12 {
		r.add(logLine{text: fmt.Sprint(i)})
	}
	if r.n != 5 || r.total != 12 || r.first() != 7 {
		t.Fatalf("n %d total %d first %d", r.n, r.total, r.first())
	}
	if l, ok := r.at(7); !ok || l.text != "7" {
		t.Errorf("oldest kept: %v %v", l, ok)
	}
	if _, ok := r.at(6); ok {
		t.Error("line 6 was dropped")
	}
	if l, _ := r.at(11); l.text != "11" {
		t.Errorf("newest: %v", l)
	}
}

func TestLogsPauseFollowSearch(t *testing.T) {
	m := logFixture(t, 80, 24)
	v := m.logs
	plain(m)
	if !strings.Contains(plain(m), "line 29") || !strings.Contains(plain(m), "● following") {
		t.Fatal("following shows the last lines")
	}
	press(m, "p")
	m.Update(logLinesMsg{session: v.session, lines: []logLine{{text: "while paused"}}, open: true})
	if s := plain(m); strings.Contains(s, "while paused") || !strings.Contains(s, "paused (1 new held") {
		t.Errorf("paused: the screen holds still and counts what came:\n%s", s)
	}
	press(m, "p")
	if !strings.Contains(plain(m), "while paused") {
		t.Error("resuming shows what was held")
	}
	// a stale session's lines are dropped
	m.Update(logLinesMsg{session: v.session - 1, lines: []logLine{{text: "stale"}}, open: true})
	if strings.Contains(plain(m), "stale") {
		t.Error("lines of an earlier session shown")
	}
	press(m, "/")
	typeText(m, "LINE 1")
	press(m, "enter")
	if v.follow || !v.hasCur {
		t.Fatal("a search jumps to its first match and stops following")
	}
	first, _ := v.ring.at(v.matchAt)
	if !strings.HasPrefix(first.text, "line 1") {
		t.Errorf("first match %q", first.text)
	}
	at := v.matchAt
	press(m, "n")
	second, _ := v.ring.at(v.matchAt)
	if !strings.HasPrefix(second.text, "line 1") || v.matchAt == at {
		t.Errorf("n: the next match: %q at %d", second.text, v.matchAt)
	}
	press(m, "N")
	if back, _ := v.ring.at(v.matchAt); back != first {
		t.Errorf("N goes back: %q", back.text)
	}
	for range 12 { // 11 matches: n wraps around
		press(m, "n")
	}
	if v.matchAt == at || !strings.HasPrefix(func() string { l, _ := v.ring.at(v.matchAt); return l.text }(), "line 1") {
		t.Errorf("n wraps around to the matches above")
	}
	press(m, "G")
	if !v.follow {
		t.Error("G follows again")
	}
	press(m, "esc")
	if v.search != "" || m.view != viewLogs {
		t.Error("esc clears the search first")
	}
	press(m, "k")
	if v.follow {
		t.Error("scrolling up stops following")
	}
}

func TestLogsKeepAtMostMaxLines(t *testing.T) {
	m := logFixture(t, 80, 24)
	v := m.logs
	batch := make([]logLine, 1000)
	for i := range batch {
		batch[i] = logLine{text: "x"}
	}
	for range 25 {
		m.Update(logLinesMsg{session: v.session, lines: batch, open: true, dropped: 3})
	}
	if v.ring.n != maxLogLines || v.dropped != 75 {
		t.Errorf("kept %d lines (max %d), %d skipped", v.ring.n, maxLogLines, v.dropped)
	}
	if !strings.Contains(plain(m), "75 lines skipped") {
		t.Error("the header says lines were skipped")
	}
	if _, cmd := m.Update(logLinesMsg{session: v.session, open: false}); cmd != nil || v.open {
		t.Error("the end of every stream ends the session")
	}
}
