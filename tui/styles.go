package tui

import (
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/buttctl/buttctl/tui/render"
)

// paint is a style taken apart into the escape sequences around its text,
// so that thousands of cells are coloured without a Style.Render each.
type paint struct{ pre, post string }

func paintOf(s lipgloss.Style) paint {
	out := s.Render("\x00")
	pre, post, _ := strings.Cut(out, "\x00")
	return paint{pre: pre, post: post}
}

func (p paint) on(s string) string {
	if p.pre == "" {
		return s
	}
	return p.pre + s + p.post
}

// Styles is the console's one palette: state colours (running green,
// unhealthy yellow, down/unreachable red, stopped grey) and the chrome,
// for a dark or a light terminal.
type Styles struct {
	Dark bool

	tone    [7]paint // by render.Tone
	toneSel [7]paint // the same on the selected row's background
	gapSel  paint

	Title       lipgloss.Style
	TabActive   lipgloss.Style
	TabInactive lipgloss.Style
	Header      paint
	HeaderSort  paint
	Group       paint
	Status      lipgloss.Style
	StatusErr   lipgloss.Style
	StatusKey   lipgloss.Style
	Prompt      lipgloss.Style
	Cursor      lipgloss.Style
	Dialog      lipgloss.Style
	DialogTitle lipgloss.Style
	Danger      lipgloss.Style
	Muted       lipgloss.Style
	Match       paint
	MatchCur    paint
	Sources     []paint // log prefixes of merged pubs
	HelpKey     lipgloss.Style
	HelpDesc    lipgloss.Style
	HelpSep     lipgloss.Style
}

// NewStyles returns the palette for a dark or a light terminal background.
func NewStyles(dark bool) Styles {
	ld := lipgloss.LightDark(dark)
	c := func(light, dark string) color.Color {
		return ld(lipgloss.Color(light), lipgloss.Color(dark))
	}
	// State colours are the terminal's own ANSI colours (bright ones on a
	// dark background), so that they keep their meaning in 16-colour
	// terminals and follow the operator's theme; the chrome uses the
	// 256-colour greys.
	var (
		fg     = c("0", "15")
		green  = c("2", "10")
		yellow = c("3", "11")
		red    = c("1", "9")
		grey   = c("244", "245")
		blue   = c("4", "12")
		purple = c("5", "13")
		selBg  = c("254", "237")
		barBg  = c("255", "235")
		matchB = c("11", "3")
		curB   = c("208", "208")
	)
	s := Styles{Dark: dark}
	tones := [7]lipgloss.Style{
		render.ToneNormal: lipgloss.NewStyle(),
		render.ToneOK:     lipgloss.NewStyle().Foreground(green),
		render.ToneWarn:   lipgloss.NewStyle().Foreground(yellow),
		render.ToneBad:    lipgloss.NewStyle().Foreground(red),
		render.ToneIdle:   lipgloss.NewStyle().Foreground(grey),
		render.ToneDim:    lipgloss.NewStyle().Foreground(grey),
		render.ToneBusy:   lipgloss.NewStyle().Foreground(blue),
	}
	for i, t := range tones {
		s.tone[i] = paintOf(t)
		if i == int(render.ToneNormal) {
			t = t.Foreground(fg)
		}
		s.toneSel[i] = paintOf(t.Background(selBg).Bold(true))
	}
	s.gapSel = paintOf(lipgloss.NewStyle().Background(selBg))
	s.Title = lipgloss.NewStyle().Bold(true).Foreground(purple)
	s.TabActive = lipgloss.NewStyle().Bold(true).Foreground(fg).Background(selBg).Padding(0, 1)
	s.TabInactive = lipgloss.NewStyle().Foreground(grey).Padding(0, 1)
	s.Header = paintOf(lipgloss.NewStyle().Bold(true).Foreground(grey))
	s.HeaderSort = paintOf(lipgloss.NewStyle().Bold(true).Foreground(blue))
	s.Group = paintOf(lipgloss.NewStyle().Bold(true).Foreground(purple))
	s.Status = lipgloss.NewStyle().Foreground(grey).Background(barBg)
	s.StatusErr = lipgloss.NewStyle().Foreground(red).Background(barBg).Bold(true)
	s.StatusKey = lipgloss.NewStyle().Foreground(fg).Background(barBg)
	s.Prompt = lipgloss.NewStyle().Bold(true).Foreground(blue)
	s.Cursor = lipgloss.NewStyle().Reverse(true)
	s.Dialog = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(purple).Padding(0, 1)
	s.DialogTitle = lipgloss.NewStyle().Bold(true).Foreground(purple)
	s.Danger = lipgloss.NewStyle().Bold(true).Foreground(red)
	s.Muted = lipgloss.NewStyle().Foreground(grey)
	s.Match = paintOf(lipgloss.NewStyle().Background(matchB).Foreground(lipgloss.Color("0")))
	s.MatchCur = paintOf(lipgloss.NewStyle().Background(curB).Foreground(lipgloss.Color("0")))
	for _, col := range []color.Color{blue, purple, c("6", "14"), green, yellow, c("1", "9")} {
		s.Sources = append(s.Sources, paintOf(lipgloss.NewStyle().Foreground(col)))
	}
	s.HelpKey = lipgloss.NewStyle().Foreground(fg).Bold(true)
	s.HelpDesc = lipgloss.NewStyle().Foreground(grey)
	s.HelpSep = lipgloss.NewStyle().Foreground(grey)
	return s
}

// Tone paints text in a tone's colour.
func (s *Styles) Tone(t render.Tone, text string) string { return s.tone[t].on(text) }
