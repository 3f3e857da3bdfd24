package render

import (
	"fmt"
)

// PlanStep is one action of a plan, with its progress once applying.
type PlanStep struct {
	// Op is fleet's marker: + adds, - removes, ~ changes, -/+ replaces,
	// ! needs someone.
	Op     string
	Action string
	Pub    string
	Hub    string
	Why    string
	// State is "" (pending), running, done, failed or skipped.
	State string
	Err   string
	// Manual says the console cannot carry it out (Why says what can).
	Manual bool
	// Index orders the steps.
	Index int
}

// PlanColumns are the Plan view's columns.
var PlanColumns = []Column{
	{Title: "#", Width: 3, Right: true},
	{Title: "OP", Width: 3},
	{Title: "ACTION", Width: 10},
	{Title: "PUB", Width: 14},
	{Title: "HUB", Width: 10, Priority: 2},
	{Title: "WHY", Width: 16, Flex: 2, Priority: 1},
	{Title: "PROGRESS", Width: 10, Flex: 1},
}

// PlanRow is a step's row; spinner is the frame for a running step.
func PlanRow(s PlanStep, spinner string) Row {
	opTone := ToneNormal
	switch s.Op {
	case "+":
		opTone = ToneOK
	case "~", "-/+":
		opTone = ToneWarn
	case "-", "!":
		opTone = ToneBad
	}
	prog := Toned("pending", ToneDim)
	switch s.State {
	case "running":
		prog = Toned(spinner+" running", ToneBusy)
	case "done":
		prog = Toned("✓ done", ToneOK)
	case "failed":
		prog = Toned("✗ "+OneLine(s.Err), ToneBad)
	case "skipped":
		prog = Toned("skipped", ToneIdle)
	case "blocked":
		prog = Toned("needs you", ToneWarn)
	default:
		if s.Manual {
			prog = Toned("needs you", ToneWarn)
		}
	}
	return Row{Key: fmt.Sprintf("%06d", s.Index), Group: s.Hub, Cells: []Cell{
		Number(fmt.Sprint(s.Index+1), float64(s.Index), ToneDim),
		Toned(s.Op, opTone),
		Toned(s.Action, opTone),
		Text(s.Pub),
		Text(s.Hub),
		Text(s.Why),
		prog,
	}}
}
