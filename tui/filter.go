package tui

import (
	"strings"
	"unicode/utf8"
)

// filterMode says how a filter matches rows.
type filterMode int

const (
	filterSubstring filterMode = iota // text
	filterInverse                     // !text: rows without text
	filterFuzzy                       // ~text: text's letters in order, anywhere
)

// filter keeps the rows of a list that match what was typed after `/`:
// a substring (case-insensitive), `!` for its inverse, `~` for fuzzy.
type filter struct {
	raw    string
	mode   filterMode
	needle string
}

func parseFilter(s string) filter {
	f := filter{raw: s}
	switch {
	case strings.HasPrefix(s, "!"):
		f.mode, s = filterInverse, s[1:]
	case strings.HasPrefix(s, "~"):
		f.mode, s = filterFuzzy, s[1:]
	}
	f.needle = strings.ToLower(strings.TrimSpace(s))
	return f
}

// active reports whether the filter hides anything.
func (f filter) active() bool { return f.needle != "" }

// match reports whether a row whose searchable text is text (lowercase) is kept.
func (f filter) match(text string) bool {
	if f.needle == "" {
		return true
	}
	switch f.mode {
	case filterInverse:
		return !strings.Contains(text, f.needle)
	case filterFuzzy:
		for _, cell := range strings.Split(text, "\x00") {
			if fuzzy(cell, f.needle) {
				return true
			}
		}
		return false
	}
	return strings.Contains(text, f.needle)
}

// fuzzy reports whether needle's runes appear in text in order.
func fuzzy(text, needle string) bool {
	for _, r := range needle {
		if r == ' ' {
			continue
		}
		i := strings.IndexRune(text, r)
		if i < 0 {
			return false
		}
		text = text[i+utf8.RuneLen(r):]
	}
	return true
}
