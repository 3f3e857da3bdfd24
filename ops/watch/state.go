package watch

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/buttctl/buttctl/ops/audit"
)

// Phases a pub is in, as watch sees it (State, metrics).
const (
	// PhaseUnknown: not seen yet.
	PhaseUnknown = "unknown"
	// PhaseRunning: running, and healthy or without a health check.
	PhaseRunning = "running"
	// PhaseStarting: running, its health check not passed yet.
	PhaseStarting = "starting"
	// PhaseUnhealthy: running and unhealthy, within watch.unhealthy_grace.
	PhaseUnhealthy = "unhealthy"
	// PhaseRestarting: its engine is restarting it (its restart policy).
	PhaseRestarting = "restarting"
	// PhaseHealing: watch is acting on it.
	PhaseHealing = "healing"
	// PhaseBackoff: down, waiting out its backoff before the next heal.
	PhaseBackoff = "backoff"
	// PhaseQuarantined: crash-looping; retried every backoff.max.
	PhaseQuarantined = "quarantined"
	// PhaseStopped: the inventory wants it stopped; left alone.
	PhaseStopped = "stopped"
	// PhaseOperatorStopped: stopped by an operator through buttctl; left alone.
	PhaseOperatorStopped = "operator-stopped"
	// PhasePaused: paused; left alone.
	PhasePaused = "paused"
	// PhaseBusy: another buttctl operation holds the pub (a move, a
	// restore), or apply runs; left alone until it is done.
	PhaseBusy = "busy"
	// PhaseHubDown: its hub cannot be reached.
	PhaseHubDown = "hub-down"
	// PhaseUnplaced: the inventory gives it no hub.
	PhaseUnplaced = "unplaced"
	// PhaseFailed: watch cannot heal it on its own (see Error): an operator must.
	PhaseFailed = "failed"
)

// AllPhases lists the phases, for metrics that report zeroes too.
var AllPhases = []string{PhaseUnknown, PhaseRunning, PhaseStarting, PhaseUnhealthy, PhaseRestarting, PhaseHealing,
	PhaseBackoff, PhaseQuarantined, PhaseStopped, PhaseOperatorStopped, PhasePaused, PhaseBusy, PhaseHubDown, PhaseUnplaced, PhaseFailed}

// State is what a watcher knows at one moment: the console shows it, and
// the watcher writes it to its state file as it changes.
type State struct {
	Updated   time.Time `json:"updated"`
	PID       int       `json:"pid"`
	Inventory string    `json:"inventory"`
	// Hub is the one hub of agent mode ("" when watching every hub).
	Hub    string `json:"hub,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
	// LastReconcile is when the last full reconcile ended.
	LastReconcile *time.Time `json:"last_reconcile,omitempty"`
	Hubs          []HubState `json:"hubs"`
	Pubs          []PubState `json:"pubs"`
}

// HubState is a hub as watch sees it.
type HubState struct {
	Name string `json:"name"`
	// Connected: its Docker event stream is up.
	Connected bool `json:"connected"`
	// Down: it has been unreachable for watch.hub_down_after.
	Down bool `json:"down"`
	// UnreachableSince is when it was last lost.
	UnreachableSince *time.Time `json:"unreachable_since,omitempty"`
	Reconnects       int        `json:"reconnects"`
	LastReboot       *time.Time `json:"last_reboot,omitempty"`
	Error            string     `json:"error,omitempty"`
}

// PubState is a pub as watch sees it.
type PubState struct {
	Name  string `json:"name"`
	Hub   string `json:"hub"`
	Phase string `json:"phase"`
	// Reason says why it is in that phase, or why watch last acted.
	Reason string `json:"reason,omitempty"`
	// Since is when it entered the phase.
	Since time.Time `json:"since"`
	// NextAttempt is when the next heal may run (backoff, quarantine).
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	// RestartsInWindow counts restarts within watch.crash_loop.window.
	RestartsInWindow int `json:"restarts_in_window"`
	// LastAction and LastResult are watch's last action on it.
	LastAction   string     `json:"last_action,omitempty"`
	LastResult   string     `json:"last_result,omitempty"`
	LastActionAt *time.Time `json:"last_action_at,omitempty"`
	Error        string     `json:"error,omitempty"`
}

// Paths are where a watcher of one inventory keeps its files.
type Paths struct {
	Dir   string
	Audit string // the inventory's JSON-lines audit log (ops/audit), which watch shares
	State string // the State, rewritten as it changes
}

// DefaultPaths are the files of a watcher of the inventory at
// inventoryPath, under buttctl's state directory stateDir: the inventory's
// state directory (audit.Dir) holds {audit.jsonl,state.json}.
func DefaultPaths(stateDir, inventoryPath string) Paths {
	dir := audit.Dir(stateDir, inventoryPath)
	return Paths{Dir: dir, Audit: audit.DefaultPath(stateDir, inventoryPath), State: filepath.Join(dir, "state.json")}
}

// ReadState reads a watcher's state file.
func ReadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &st, nil
}

// writeState writes st to path atomically, 0600.
func writeState(path string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".state-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
