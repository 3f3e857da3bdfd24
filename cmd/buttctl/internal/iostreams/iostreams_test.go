package iostreams

import "testing"

func TestColorWanted(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	cases := []struct {
		tty  bool
		vars map[string]string
		want bool
	}{
		{true, map[string]string{"TERM": "xterm-256color"}, true},
		{false, map[string]string{"TERM": "xterm-256color"}, false},
		{true, map[string]string{"TERM": "xterm", "NO_COLOR": ""}, false},
		{true, map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, false},
		{true, map[string]string{"TERM": "dumb"}, false},
	}
	for _, c := range cases {
		if got := ColorWanted(c.tty, env(c.vars)); got != c.want {
			t.Errorf("ColorWanted(%v, %v) = %v", c.tty, c.vars, got)
		}
	}
}

func TestTestStreams(t *testing.T) {
	s, _, out, _ := Test()
	if s.IsStdoutTTY() || s.ColorEnabled() || s.CanPrompt() || s.TerminalWidth() != 80 {
		t.Error("test streams must look like a pipe")
	}
	s.SetTTY(true, true, true)
	s.SetColorEnabled(true)
	if !s.CanPrompt() || !s.ColorEnabled() {
		t.Error("overrides ignored")
	}
	s.Out.Write([]byte("x"))
	if out.String() != "x" {
		t.Error("Out is not the buffer")
	}
}
