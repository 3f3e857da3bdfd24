package tui

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// width is the number of terminal cells plain text s takes.
func width(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// fit truncates plain text s to w cells (with an ellipsis) and pads it to
// exactly w, on the left when right-aligned.
func fit(s string, w int, right bool) string {
	if w <= 0 {
		return ""
	}
	n := width(s)
	if n > w {
		if w == 1 {
			return "…"
		}
		s = ansi.Truncate(s, w, "…")
		n = width(s)
	}
	if n == w {
		return s
	}
	if right {
		return strings.Repeat(" ", w-n) + s
	}
	return s + strings.Repeat(" ", w-n)
}

// fitLine cuts a styled line to w cells and pads it to exactly w.
func fitLine(s string, w int) string {
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "")
	}
	return s + strings.Repeat(" ", w-n)
}

// overlay puts box (lines of styled text) over base (lines of exactly w
// cells) with its top-left corner at x, y.
func overlay(base []string, box []string, x, y, w int) {
	for i, line := range box {
		row := y + i
		if row < 0 || row >= len(base) {
			continue
		}
		bw := ansi.StringWidth(line)
		left := ansi.Cut(base[row], 0, x)
		right := ""
		if x+bw < w {
			right = ansi.Cut(base[row], x+bw, w)
		}
		base[row] = left + line + right
	}
}
