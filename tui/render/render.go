// Package render turns the fleet's data (hubs, pubs, events, plan actions)
// into table rows: cells of text with a tone and a sort key. Everything here
// is a pure function of its input, tested on its own; the console only lays
// the rows out and colours them by tone.
package render

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Tone says what a cell means, for the palette to colour it.
type Tone int

// Tones.
const (
	ToneNormal Tone = iota
	ToneOK          // running, healthy, up: green
	ToneWarn        // unhealthy, drift, slow: yellow
	ToneBad         // down, unreachable, failed: red
	ToneIdle        // stopped, unplaced: grey
	ToneDim         // secondary text
	ToneBusy        // starting, an action in progress
)

// Cell is one cell of a row.
type Cell struct {
	Text string
	Tone Tone
	// Num, when Numeric, is what the column sorts by instead of Text.
	Num     float64
	Numeric bool
}

// Text is a cell of plain text.
func Text(s string) Cell { return Cell{Text: s} }

// Toned is a cell of text with a tone.
func Toned(s string, t Tone) Cell { return Cell{Text: s, Tone: t} }

// Number is a cell that sorts by n.
func Number(s string, n float64, t Tone) Cell {
	return Cell{Text: s, Tone: t, Num: n, Numeric: true}
}

// Row is one row of a table.
type Row struct {
	// Key identifies the row (a pub's or hub's name) across updates.
	Key string
	// Group is the row's group when the table is grouped (its hub).
	Group string
	Cells []Cell
}

// Column describes one column of a table.
type Column struct {
	Title string
	// Width is the column's width in cells; Flex columns share what is left
	// over in proportion to their Flex.
	Width int
	Flex  int
	// Priority decides which columns go first when the screen is narrow:
	// the highest numbers are dropped first; 0 is never dropped.
	Priority int
	Right    bool
}

// Compare orders two cells of one column: numerically when both are
// numeric, else by text, case-insensitively.
func Compare(a, b Cell) int {
	if a.Numeric && b.Numeric {
		switch {
		case a.Num < b.Num:
			return -1
		case a.Num > b.Num:
			return 1
		}
		return 0
	}
	return compareFold(a.Text, b.Text)
}

// compareFold compares strings case-insensitively without allocating
// (sorting thousands of rows compares them many times).
func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := a[i], b[i]
		if ca >= 0x80 || cb >= 0x80 {
			return strings.Compare(strings.ToLower(a[i:]), strings.ToLower(b[i:]))
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// Age writes a duration the way status tables do: 45s, 12m, 3h5m, 4d3h.
func Age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 24*time.Hour:
		h := int(d.Hours())
		m := int(d.Minutes()) - 60*h
		if m == 0 {
			return strconv.Itoa(h) + "h"
		}
		return fmt.Sprintf("%dh%dm", h, m)
	default:
		days := int(d.Hours()) / 24
		h := int(d.Hours()) - 24*days
		if h == 0 {
			return strconv.Itoa(days) + "d"
		}
		return fmt.Sprintf("%dd%dh", days, h)
	}
}

// Bytes writes a size in binary units: 512M, 1.5G, 20G.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + "B"
	}
	v, i := float64(n), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if v >= 10 {
		s = strconv.FormatFloat(v, 'f', 0, 64)
	}
	s = strings.TrimSuffix(s, ".0")
	return s + string("KMGTP"[i])
}

// OneLine makes an error message fit on one line.
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
