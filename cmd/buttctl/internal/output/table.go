package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// TablePrinter lays out rows in aligned columns. Off a terminal it writes
// tab-separated fields with no colour, so scripts can `cut -f`.
type TablePrinter struct {
	w      io.Writer
	tty    bool
	header []string
	rows   [][]Cell
}

// Cell is one table cell; Color is an ANSI SGR colour code applied on a TTY.
type Cell struct {
	Text  string
	Color string
}

// Colors for cells, by meaning.
const (
	Green  = "32"
	Yellow = "33"
	Red    = "31"
	Grey   = "90"
	Bold   = "1"
)

// NewTable returns a printer. tty selects aligned, coloured output.
func NewTable(w io.Writer, tty bool, header ...string) *TablePrinter {
	return &TablePrinter{w: w, tty: tty, header: header}
}

// Row adds a row of plain cells.
func (t *TablePrinter) Row(cells ...string) {
	row := make([]Cell, len(cells))
	for i, c := range cells {
		row[i] = Cell{Text: c}
	}
	t.rows = append(t.rows, row)
}

// RowCells adds a row of cells that may carry colour.
func (t *TablePrinter) RowCells(cells ...Cell) { t.rows = append(t.rows, cells) }

// Render writes the table. color enables ANSI colour (only ever on a TTY).
func (t *TablePrinter) Render(color bool) error {
	if !t.tty {
		if len(t.header) > 0 {
			if _, err := fmt.Fprintln(t.w, strings.Join(t.header, "\t")); err != nil {
				return err
			}
		}
		for _, r := range t.rows {
			fields := make([]string, len(r))
			for i, c := range r {
				fields[i] = c.Text
			}
			if _, err := fmt.Fprintln(t.w, strings.Join(fields, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	widths := make([]int, len(t.header))
	grow := func(i, n int) {
		for len(widths) <= i {
			widths = append(widths, 0)
		}
		if n > widths[i] {
			widths[i] = n
		}
	}
	for i, h := range t.header {
		grow(i, ansi.StringWidth(h))
	}
	for _, r := range t.rows {
		for i, c := range r {
			grow(i, ansi.StringWidth(c.Text))
		}
	}
	var b strings.Builder
	line := func(cells []Cell, header bool) {
		for i, c := range cells {
			text := c.Text
			pad := widths[i] - ansi.StringWidth(text)
			code := c.Color
			if header {
				code = Bold
			}
			if color && code != "" {
				text = "\x1b[" + code + "m" + text + "\x1b[0m"
			}
			b.WriteString(text)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", pad+2))
			}
		}
		b.WriteString("\n")
	}
	if len(t.header) > 0 {
		hc := make([]Cell, len(t.header))
		for i, h := range t.header {
			hc[i] = Cell{Text: h}
		}
		line(hc, true)
	}
	for _, r := range t.rows {
		line(r, false)
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}
