package tui

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/moby/moby/api/types/container"

	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/pubspec"
	"github.com/buttctl/buttctl/tui/render"
)

// detailView shows one pub: the spec the inventory asks for, its container
// as its engine describes it, its identity, what happened to it lately and
// its last backup.
type detailView struct {
	st        *Styles
	pub       string
	ins       *pubs.Inspection
	container *container.InspectResponse
	err       string
	loading   bool
	recorded  bool
	storedID  string
	backup    *identity.BackupRecord
	offset    int
	height    int
	dirty     bool
}

// openDetail drills into a pub.
func (m *Model) openDetail(name string) tea.Cmd {
	if m.detail == nil || m.detail.pub != name {
		m.detail = &detailView{st: &m.styles, pub: name, loading: true}
	}
	m.switchTo(viewDetail)
	return m.inspectPub(name)
}

func (d *detailView) setInspection(msg inspectMsg) {
	d.recorded, d.storedID, d.backup = msg.recorded, msg.id, msg.backup
	ins, err := msg.ins, msg.err
	d.loading = false
	if err != nil {
		d.err, d.ins, d.container = err.Error(), nil, nil
		return
	}
	d.err, d.ins = "", &ins
	var c container.InspectResponse
	if json.Unmarshal(ins.Container, &c) == nil {
		d.container = &c
	}
}

func (d *detailView) scroll(n int) { d.offset = max(0, d.offset+n) }

func (m *Model) detailKey(msg tea.KeyPressMsg) tea.Cmd {
	k := &m.keys
	switch {
	case key.Matches(msg, k.Back):
		return m.goBack()
	case key.Matches(msg, k.Up):
		m.detail.scroll(-1)
	case key.Matches(msg, k.Down):
		m.detail.scroll(1)
	case key.Matches(msg, k.PageUp):
		m.detail.scroll(-max(1, m.detail.height-1))
	case key.Matches(msg, k.PageDown):
		m.detail.scroll(max(1, m.detail.height-1))
	case key.Matches(msg, k.Top):
		m.detail.offset = 0
	default:
		return m.pubKey(msg)
	}
	return nil
}

// kv is one "key  value" line of the detail view.
type kv struct {
	k, v string
	t    render.Tone
}

func (d *detailView) section(title string, rows []kv, w int) []string {
	st := d.st
	out := []string{fitLine(" "+st.DialogTitle.Render(title), w)}
	kw := 0
	for _, r := range rows {
		kw = max(kw, width(r.k))
	}
	for _, r := range rows {
		v := fit(render.OneLine(r.v), max(4, w-kw-4), false)
		out = append(out, fitLine("   "+st.Muted.Render(fit(r.k, kw, false))+"  "+st.Tone(r.t, v), w))
	}
	return append(out, strings.Repeat(" ", w))
}

// Render draws the detail view in h lines of width w; at 150 columns and
// more the sections sit side by side.
func (d *detailView) Render(w, h int, m *Model) []string {
	d.height = h
	ps, ok := m.pubs[d.pub]
	if !ok {
		return []string{fitLine(" "+d.st.Muted.Render("pub "+d.pub+" is not in the inventory any more (esc goes back)"), w)}
	}
	cw := w
	if w >= 150 {
		cw = w / 2
	}
	var left, right []string
	left = append(left, d.section("Pub "+d.pub, d.summaryRows(m, ps), cw)...)
	left = append(left, d.section("Spec (what the inventory asks for)", d.specRows(m, ps), cw)...)
	left = append(left, d.section("Container (what its engine says)", d.containerRows(m), cw)...)
	right = append(right, d.section("Recent events", d.eventRows(m), cw)...)
	right = append(right, d.section("Identity store and last backup", d.backupRows(m), cw)...)
	var lines []string
	if w >= 150 {
		for i := 0; i < max(len(left), len(right)); i++ {
			l, r := strings.Repeat(" ", cw), strings.Repeat(" ", w-cw)
			if i < len(left) {
				l = left[i]
			}
			if i < len(right) {
				r = fitLine(right[i], w-cw)
			}
			lines = append(lines, l+r)
		}
	} else {
		lines = append(left, right...)
	}
	d.offset = max(0, min(d.offset, len(lines)-h))
	lines = lines[d.offset:]
	if len(lines) > h {
		lines = lines[:h]
	}
	return lines
}

func (d *detailView) summaryRows(m *Model, ps *pubState) []kv {
	s := render.PubStatus(m.renderPub(d.pub))
	rows := []kv{
		{"status", s.Text, s.Tone},
		{"hub", orNone(ps.inv.Hub), render.ToneNormal},
		{"wants", ps.obs.Want, render.ToneNormal},
	}
	id := ps.identity
	if d.ins != nil && d.ins.Status.Identity != "" {
		id = d.ins.Status.Identity
	}
	rows = append(rows, kv{"identity", orNone(id), render.ToneNormal})
	if ps.busy != "" {
		rows = append(rows, kv{"doing", ps.busy + "…", render.ToneBusy})
	}
	if ps.err != "" {
		rows = append(rows, kv{"last error", ps.err, render.ToneBad})
	}
	if ps.obs.Error != "" {
		rows = append(rows, kv{"error", ps.obs.Error, render.ToneBad})
	}
	if ps.obs.Drift {
		rows = append(rows, kv{"drift", "its container was made from another spec: apply recreates it", render.ToneWarn})
	}
	return rows
}

func (d *detailView) specRows(m *Model, ps *pubState) []kv {
	spec, err := pubspec.Build(m.inv, ps.inv)
	if err != nil {
		return []kv{{"error", err.Error(), render.ToneBad}}
	}
	var env []string
	for k := range ps.inv.Env {
		env = append(env, k)
	}
	sort.Strings(env)
	health := "the image's own"
	if spec.Health != nil && len(spec.Health.Test) > 0 {
		health = strings.Join(spec.Health.Test, " ")
		if spec.Health.Interval > 0 {
			health += " every " + spec.Health.Interval.String()
		}
	}
	rows := []kv{
		{"image", spec.Image, render.ToneNormal},
		{"container", spec.ContainerName, render.ToneNormal},
		{"port", fmt.Sprintf("%d → %d", spec.HostPort, spec.ContainerPort), render.ToneNormal},
		{"public host", spec.PublicHost, render.ToneNormal},
		{"volume", spec.Volume + " at " + spec.DataDir + " (holds the identity)", render.ToneNormal},
		{"memory", render.Bytes(spec.Memory), render.ToneNormal},
		{"restart", spec.Restart, render.ToneNormal},
		{"health check", health, render.ToneNormal},
	}
	if len(env) > 0 {
		rows = append(rows, kv{"env", strings.Join(env, ", ") + " (values not shown)", render.ToneNormal})
	}
	return rows
}

func (d *detailView) containerRows(m *Model) []kv {
	switch {
	case d.loading:
		return []kv{{"", m.spinner() + " asking its engine…", render.ToneBusy}}
	case d.err != "":
		return []kv{{"", d.err, render.ToneBad}}
	case d.container == nil:
		return []kv{{"", "no description", render.ToneDim}}
	}
	c := d.container
	rows := []kv{{"id", shortID(c.ID), render.ToneNormal}}
	if c.State != nil {
		s := c.State
		t := render.ToneNormal
		switch {
		case s.Running:
			t = render.ToneOK
		case s.Dead, s.OOMKilled:
			t = render.ToneBad
		}
		rows = append(rows, kv{"state", string(s.Status), t})
		if s.Running {
			rows = append(rows, kv{"started", when(s.StartedAt, m.now()), render.ToneNormal})
		} else if s.FinishedAt != "" {
			rows = append(rows, kv{"exited", fmt.Sprintf("%s with code %d", when(s.FinishedAt, m.now()), s.ExitCode), render.ToneBad})
		}
		if s.OOMKilled {
			rows = append(rows, kv{"oom", "killed for lack of memory", render.ToneBad})
		}
		if s.Error != "" {
			rows = append(rows, kv{"error", s.Error, render.ToneBad})
		}
		if h := s.Health; h != nil {
			ht := render.ToneOK
			switch h.Status {
			case container.Unhealthy:
				ht = render.ToneWarn
			case container.Starting:
				ht = render.ToneBusy
			}
			health := string(h.Status)
			if h.FailingStreak > 0 {
				health += fmt.Sprintf(" (%d failing in a row)", h.FailingStreak)
			}
			rows = append(rows, kv{"health", health, ht})
			for i := max(0, len(h.Log)-3); i < len(h.Log); i++ {
				r := h.Log[i]
				t := render.ToneDim
				if r.ExitCode != 0 {
					t = render.ToneWarn
				}
				rows = append(rows, kv{"  probe", fmt.Sprintf("%s exit %d %s", r.End.Local().Format("15:04:05"), r.ExitCode, strings.TrimSpace(r.Output)), t})
			}
		}
	}
	rows = append(rows, kv{"restarts", fmt.Sprint(c.RestartCount), render.ToneNormal})
	if d.ins != nil {
		drift := "as the inventory asks"
		t := render.ToneOK
		if d.ins.Status.Drift {
			drift, t = "made from another spec (apply recreates it)", render.ToneWarn
		}
		rows = append(rows, kv{"spec", drift, t})
	}
	if c.Config != nil {
		rows = append(rows, kv{"image", c.Config.Image, render.ToneNormal})
	}
	return rows
}

func (d *detailView) eventRows(m *Model) []kv {
	var rows []kv
	for i := m.events.len() - 1; i >= 0 && len(rows) < 12; i-- {
		e := m.events.at(i)
		if e.Pub != d.pub {
			continue
		}
		rows = append(rows, kv{e.Time.Local().Format("15:04:05"), strings.TrimSpace(e.Source + " " + e.Action + " " + e.Detail), e.Tone})
	}
	if len(rows) == 0 {
		rows = append(rows, kv{"", "nothing since the console started", render.ToneDim})
	}
	return rows
}

func (d *detailView) backupRows(m *Model) []kv {
	if m.opts.IdentityStore == nil {
		return []kv{{"", "no identity store in this console", render.ToneDim}}
	}
	var rows []kv
	if d.recorded {
		rows = append(rows, kv{"recorded", d.storedID, render.ToneOK})
	} else {
		rows = append(rows, kv{"recorded", "not yet (b backs it up and records it)", render.ToneWarn})
	}
	switch b := d.backup; {
	case b == nil:
		rows = append(rows, kv{"last backup", "none (b makes one)", render.ToneWarn})
	default:
		what := "data and secret"
		if b.SecretOnly {
			what = "secret only"
		}
		rows = append(rows, kv{"last backup", render.Age(m.now().Sub(b.At)) + " ago, " + what + ", from " + b.Hub, render.ToneOK})
		rows = append(rows, kv{"file", b.File, render.ToneNormal})
	}
	return rows
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// when writes a Docker time as "3m ago (15:04:05)".
func when(s string, now time.Time) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() || t.Year() < 2000 {
		return s
	}
	return render.Age(now.Sub(t)) + " ago (" + t.Local().Format("2006-01-02 15:04:05") + ")"
}
