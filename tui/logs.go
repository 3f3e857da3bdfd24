package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unicode"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/tui/render"
)

// Bounds of the Logs view: memory stays bounded however long a follow runs.
const (
	maxLogLines   = 10000 // lines kept
	maxLineBytes  = 2048  // longer lines are cut
	logMailbox    = 8192  // lines in flight between a stream and the view
	logTailLines  = 500   // history shown when a follow starts
	logHeldLines  = 10000 // lines held while paused
	logEndedLabel = "log ended"
)

// logLine is one line of a pub's output.
type logLine struct {
	src    int
	text   string
	stderr bool
	note   bool // said by the console, not the pub
}

// logRing keeps the last maxLogLines lines, with absolute line numbers.
type logRing struct {
	lines []logLine
	start int
	n     int
	total uint64 // lines ever added
}

func newLogRing(capacity int) *logRing { return &logRing{lines: make([]logLine, capacity)} }

func (r *logRing) add(l logLine) {
	c := len(r.lines)
	if r.n < c {
		r.lines[(r.start+r.n)%c] = l
		r.n++
	} else {
		r.lines[r.start] = l
		r.start = (r.start + 1) % c
	}
	r.total++
}

// first is the absolute number of the oldest line kept.
func (r *logRing) first() uint64 { return r.total - uint64(r.n) }

// at returns line abs, if kept.
func (r *logRing) at(abs uint64) (logLine, bool) {
	if abs < r.first() || abs >= r.total {
		return logLine{}, false
	}
	return r.lines[(r.start+int(abs-r.first()))%len(r.lines)], true
}

// logView follows the logs of one or more pubs, merged with a prefix.
type logView struct {
	st      *Styles
	session int
	sources []string
	cancel  context.CancelFunc
	box     *mailbox[logLine]
	ctx     context.Context
	open    bool

	ring    *logRing
	held    []logLine
	heldOut int // held lines dropped while paused
	dropped int // lines dropped before the view took them

	follow bool
	paused bool
	wrap   bool
	top    uint64 // first line shown when not following

	search  string // lowercase
	matchAt uint64 // the line the last jump went to
	hasCur  bool

	height int // body lines at the last render
}

func newLogView(st *Styles) *logView {
	return &logView{st: st, ring: newLogRing(maxLogLines), follow: true}
}

// active reports whether logs were opened.
func (v *logView) active() bool { return len(v.sources) > 0 }

// openLogs follows the logs of pubs (merged, each line with its pub's
// name when there are several) in the Logs view.
func (m *Model) openLogs(names []string) tea.Cmd {
	v := m.logs
	if v.cancel != nil {
		v.cancel()
	}
	v.session++
	v.sources = append([]string(nil), names...)
	v.ring = newLogRing(maxLogLines)
	v.held, v.heldOut, v.dropped = nil, 0, 0
	v.follow, v.paused, v.top, v.hasCur = true, false, 0, false
	v.ctx, v.cancel = context.WithCancel(context.Background())
	v.box = newMailbox[logLine](logMailbox)
	v.open = true
	m.switchTo(viewLogs)
	b, ctx, box, session := m.be, v.ctx, v.box, v.session
	return func() tea.Msg {
		var wg sync.WaitGroup
		for i, name := range names {
			wg.Go(func() {
				out := &lineWriter{box: box, src: i}
				errw := &lineWriter{box: box, src: i, stderr: true}
				err := b.svc.Logs(ctx, name, pubs.LogsOptions{Follow: true, Tail: logTailLines}, out, errw)
				out.flush()
				errw.flush()
				if ctx.Err() != nil {
					return
				}
				msg := logEndedLabel
				if err != nil {
					msg += ": " + err.Error()
				}
				box.put(logLine{src: i, text: msg, note: true, stderr: err != nil})
			})
		}
		go func() {
			wg.Wait()
			box.close()
		}()
		return takeLogs(ctx, box, session)()
	}
}

// takeLogs waits for the next lines of a session.
func takeLogs(ctx context.Context, box *mailbox[logLine], session int) tea.Cmd {
	return func() tea.Msg {
		lines, dropped, open := box.take(ctx)
		if ctx.Err() != nil {
			return nil
		}
		return logLinesMsg{session: session, lines: lines, dropped: dropped, open: open}
	}
}

// take adds lines that came in and waits for more.
func (v *logView) take(msg logLinesMsg) tea.Cmd {
	if msg.session != v.session {
		return nil
	}
	v.dropped += msg.dropped
	v.add(msg.lines)
	v.open = msg.open
	if !msg.open {
		return nil
	}
	return takeLogs(v.ctx, v.box, v.session)
}

// add takes lines into the view, or holds them while paused.
func (v *logView) add(lines []logLine) {
	if v.paused {
		v.held = append(v.held, lines...)
		if over := len(v.held) - logHeldLines; over > 0 {
			v.heldOut += over
			v.held = append(v.held[:0], v.held[over:]...)
		}
		return
	}
	for _, l := range lines {
		v.ring.add(l)
	}
}

// lineWriter cuts a stream into lines for a mailbox; it never blocks.
type lineWriter struct {
	box     *mailbox[logLine]
	src     int
	stderr  bool
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	var lines []logLine
	for len(p) > 0 {
		i := strings.IndexByte(string(p), '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			if len(w.partial) > maxLineBytes {
				lines = append(lines, w.line(w.partial))
				w.partial = w.partial[:0]
			}
			break
		}
		w.partial = append(w.partial, p[:i]...)
		lines = append(lines, w.line(w.partial))
		w.partial = w.partial[:0]
		p = p[i+1:]
	}
	if len(lines) > 0 {
		w.box.put(lines...)
	}
	return n, nil
}

func (w *lineWriter) flush() {
	if len(w.partial) > 0 {
		w.box.put(w.line(w.partial))
		w.partial = w.partial[:0]
	}
}

func (w *lineWriter) line(b []byte) logLine {
	return logLine{src: w.src, text: cleanLine(b), stderr: w.stderr}
}

// cleanLine makes a pub's output safe to draw: no escape sequences or
// control characters (a pub cannot drive the operator's terminal), tabs as
// spaces, at most maxLineBytes.
func cleanLine(b []byte) string {
	if len(b) > maxLineBytes {
		b = append(b[:maxLineBytes:maxLineBytes], "…"...)
	}
	s := ansi.Strip(string(b))
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}

func (m *Model) logsKey(msg tea.KeyPressMsg) tea.Cmd {
	v, k := m.logs, &m.keys
	switch {
	case key.Matches(msg, k.Back):
		if v.search != "" {
			v.setSearch("")
			return nil
		}
		return m.goBack()
	case key.Matches(msg, k.Up):
		v.scroll(-1)
	case key.Matches(msg, k.Down):
		v.scroll(1)
	case key.Matches(msg, k.PageUp):
		v.scroll(-max(1, v.height-1))
	case key.Matches(msg, k.PageDown):
		v.scroll(max(1, v.height-1))
	case key.Matches(msg, k.Top):
		v.follow, v.top = false, v.ring.first()
	case key.Matches(msg, k.Bottom):
		v.follow = true
	case key.Matches(msg, k.Follow):
		v.follow = !v.follow
		if !v.follow {
			v.top = v.firstShown()
		}
	case key.Matches(msg, k.Pause):
		v.togglePause()
	case key.Matches(msg, k.Wrap):
		v.wrap = !v.wrap
	case key.Matches(msg, k.Filter):
		m.openInput(inputSearch, v.search)
	case key.Matches(msg, k.NextMatch):
		if !v.jump(1) && v.search != "" {
			m.fail(fmt.Errorf("no line has %q", v.search))
		}
	case key.Matches(msg, k.PrevMatch):
		if !v.jump(-1) && v.search != "" {
			m.fail(fmt.Errorf("no line has %q", v.search))
		}
	}
	return nil
}

func (v *logView) togglePause() {
	v.paused = !v.paused
	if !v.paused {
		held := v.held
		v.held = nil
		v.add(held)
	}
}

// setSearch highlights s (case-insensitive).
func (v *logView) setSearch(s string) {
	v.search = strings.ToLower(s)
	v.hasCur = false
}

// jump goes to the next (dir 1) or previous (-1) line with the search,
// wrapping around; a new search starts from the top of the screen.
func (v *logView) jump(dir int) bool {
	if v.search == "" || v.ring.n == 0 {
		return false
	}
	first, n := int64(v.ring.first()), int64(v.ring.n)
	from := int64(v.firstShown()) - int64(dir)
	if v.hasCur && v.matchAt >= v.ring.first() {
		from = int64(v.matchAt)
	}
	for i := int64(1); i <= n; i++ {
		abs := first + ((from-first+int64(dir)*i)%n+n)%n
		l, _ := v.ring.at(uint64(abs))
		if !strings.Contains(strings.ToLower(l.text), v.search) {
			continue
		}
		v.matchAt, v.hasCur = uint64(abs), true
		v.follow = false
		half := int64(max(0, v.height/2))
		v.top = uint64(max(first, abs-half))
		return true
	}
	return false
}

// scroll moves by n lines; scrolling past the end follows again.
func (v *logView) scroll(n int) {
	if v.follow {
		if n > 0 {
			return
		}
		v.top = v.firstShown()
		v.follow = false
	}
	t := int64(v.top) + int64(n)
	t = max(int64(v.ring.first()), t)
	last := int64(v.ring.total) - int64(max(1, v.height))
	if t >= last {
		v.follow = true
		return
	}
	v.top = uint64(t)
}

// firstShown is the first line on screen when following.
func (v *logView) firstShown() uint64 {
	if !v.follow {
		return max(v.top, v.ring.first())
	}
	if uint64(v.height) >= uint64(v.ring.n) {
		return v.ring.first()
	}
	return v.ring.total - uint64(v.height)
}

// prefixWidth is the width of the pub names before merged lines.
func (v *logView) prefixWidth() int {
	if len(v.sources) < 2 {
		return 0
	}
	w := 0
	for _, s := range v.sources {
		w = max(w, width(s))
	}
	return w + 3
}

// Render draws the Logs view in h lines of width w: a header, then the
// lines (the last ones when following).
func (v *logView) Render(w, h int) []string {
	st := v.st
	out := make([]string, 0, h)
	if !v.active() {
		out = append(out, fitLine(" "+st.Muted.Render("No logs open. In the Pubs view, l follows a pub's logs (space marks several to merge); or :logs NAME..."), w))
		return out
	}
	out = append(out, v.header(w))
	body := h - 1
	v.height = body
	pw := v.prefixWidth()
	tw := max(10, w-pw-1)
	// display chunks of each line (several when wrapping)
	chunks := func(l logLine) []string {
		if !v.wrap || width(l.text) <= tw {
			return []string{l.text}
		}
		return strings.Split(hardWrap(l.text, tw), "\n")
	}
	var rows []string
	emit := func(abs uint64, l logLine) []string {
		var lines []string
		for i, c := range chunks(l) {
			prefix := ""
			if pw > 0 {
				name := ""
				if i == 0 {
					name = v.sources[l.src]
				}
				prefix = st.Sources[l.src%len(st.Sources)].on(fit(name, pw-3, false)) + st.Muted.Render(" │ ")
			}
			text := fit(c, tw, false)
			text = v.highlight(text, v.hasCur && abs == v.matchAt)
			switch {
			case l.note:
				text = st.Muted.Render(text)
				if l.stderr {
					text = st.Tone(render.ToneBad, fit(c, tw, false))
				}
			case l.stderr && v.search == "":
				text = st.tone[render.ToneWarn].on(text)
			}
			lines = append(lines, " "+prefix+text)
		}
		return lines
	}
	if v.follow {
		// walk back from the last line until the screen is full
		for abs := int64(v.ring.total) - 1; abs >= int64(v.ring.first()) && len(rows) < body; abs-- {
			l, _ := v.ring.at(uint64(abs))
			ls := emit(uint64(abs), l)
			rows = append(ls, rows...)
		}
		if len(rows) > body {
			rows = rows[len(rows)-body:]
		}
	} else {
		for abs := max(v.top, v.ring.first()); abs < v.ring.total && len(rows) < body; abs++ {
			l, _ := v.ring.at(abs)
			rows = append(rows, emit(abs, l)...)
		}
		if len(rows) > body {
			rows = rows[:body]
		}
	}
	if len(rows) == 0 {
		msg := "waiting for lines…"
		if !v.open {
			msg = "no lines"
		}
		rows = append(rows, " "+st.Muted.Render(msg))
	}
	for _, r := range rows {
		out = append(out, fitLine(r, w))
	}
	return out
}

// highlight marks the search's matches in a line of plain text.
func (v *logView) highlight(text string, current bool) string {
	if v.search == "" {
		return text
	}
	lower := strings.ToLower(text)
	if !strings.Contains(lower, v.search) || len(lower) != len(text) {
		return text
	}
	p := v.st.Match
	if current {
		p = v.st.MatchCur
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, v.search)
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		j := i + len(v.search)
		b.WriteString(text[:i])
		b.WriteString(p.on(text[i:j]))
		text, lower = text[j:], lower[j:]
	}
}

func (v *logView) header(w int) string {
	st := v.st
	parts := []string{st.HelpKey.Render(strings.Join(v.sources, ", "))}
	switch {
	case v.paused:
		parts = append(parts, st.Tone(render.ToneWarn, fmt.Sprintf("⏸ paused (%d new held; p resumes)", len(v.held))))
	case v.follow:
		parts = append(parts, st.Tone(render.ToneOK, "● following"))
	default:
		parts = append(parts, st.Muted.Render("scrolled (G or f follows)"))
	}
	if v.wrap {
		parts = append(parts, "wrap")
	}
	parts = append(parts, st.Muted.Render(plural(v.ring.n, "line")))
	if v.search != "" {
		parts = append(parts, "search "+st.Match.on(v.search))
	}
	if v.dropped+v.heldOut > 0 {
		parts = append(parts, st.Tone(render.ToneWarn, fmt.Sprintf("%d lines skipped (too fast to show)", v.dropped+v.heldOut)))
	}
	if !v.open {
		parts = append(parts, st.Muted.Render("ended"))
	}
	return fitLine(" "+strings.Join(parts, st.Muted.Render(" · ")), w)
}
