package inventory

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with an inventory, at a place in its file.
// Line and Col are 1-based; Col is 0 when only the line is known.
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"column"`
	// Msg says what is wrong and what to write instead.
	Msg string `json:"message"`
}

func (p Problem) String() string {
	switch {
	case p.Line == 0:
		return p.File + ": " + p.Msg
	case p.Col == 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	default:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
	}
}

// Errors is every problem found in an inventory, in file order. Load and
// Parse return it (as *Errors) when an inventory is invalid.
type Errors struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (e *Errors) sort() {
	sort.SliceStable(e.Problems, func(i, j int) bool {
		a, b := e.Problems[i], e.Problems[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
