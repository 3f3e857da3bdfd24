package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/buttctl/buttctl/ops/engine"
)

// Journal is the record of a move, kept in the store (moves/<pub>.json)
// from its first change until it is finished or undone, so that a move
// killed at any point can be settled by the next one (see Settle).
type Journal struct {
	Pub  string `json:"pub"`
	From string `json:"from"`
	To   string `json:"to"`
	// ID and SecretSHA256 are the pub's identity, read before the move.
	ID           string    `json:"id"`
	SecretSHA256 string    `json:"secret_sha256"`
	Started      time.Time `json:"started"`
	// Step is the last step begun.
	Step Step `json:"step"`
	// SourceWasRunning and SourceRestart are how the source container was
	// before the move stopped it and set its restart policy to "no".
	SourceWasRunning bool                 `json:"source_was_running"`
	SourceRestart    engine.RestartPolicy `json:"source_restart"`
	PurgeSource      bool                 `json:"purge_source"`
	// State: "moving", then "done" (kept while the source volume is), or
	// "undone" (kept while leftovers on the target could not be removed).
	State string `json:"state"`
	// KeptVolumes are volumes of the pub left on other hubs by moves: the
	// source's, kept until --purge-source, or an unreachable target's.
	KeptVolumes []HubVolume `json:"kept_volumes,omitempty"`
}

// HubVolume is a volume on a hub.
type HubVolume struct {
	Hub    string `json:"hub"`
	Volume string `json:"volume"`
	// Container says the pub's (never started) container is there too.
	Container bool `json:"container,omitempty"`
}

// Journal states.
const (
	JournalMoving = "moving"
	JournalDone   = "done"
	JournalUndone = "undone"
)

func (s *Store) journalPath(pub string) string { return s.path("moves", pub+".json") }

// MoveJournal returns the journal of pub's last move, if the store has one.
func (s *Store) MoveJournal(pub string) (Journal, bool, error) {
	var j Journal
	if err := checkName(pub); err != nil {
		return j, false, err
	}
	b, err := os.ReadFile(s.journalPath(pub))
	if errors.Is(err, fs.ErrNotExist) {
		return j, false, nil
	}
	if err != nil {
		return j, false, fmt.Errorf("identity store: %w", err)
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return j, false, fmt.Errorf("identity store: %s: %v", s.journalPath(pub), err)
	}
	return j, true, nil
}

// Moving reports whether a move of pub is unfinished (in progress, or
// interrupted and not yet settled): watch leaves such a pub alone.
func (s *Store) Moving(pub string) bool {
	j, ok, err := s.MoveJournal(pub)
	return err != nil || ok && j.State == JournalMoving
}

func (s *Store) saveJournal(j Journal) error {
	if err := s.ensure(); err != nil {
		return err
	}
	return s.writeJSON(s.journalPath(j.Pub), j)
}

func (s *Store) deleteJournal(pub string) error {
	err := os.Remove(s.journalPath(pub))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("identity store: %w", err)
	}
	return nil
}

// ErrBusy: another buttctl on this machine is backing up, restoring or
// moving that pub right now.
var ErrBusy = errors.New("another buttctl is backing up, restoring or moving this pub")

// Busy reports whether a backup, restore or move of pub is running on this
// machine right now (watch leaves such a pub alone: a backup pauses it).
func (s *Store) Busy(pub string) bool {
	if _, err := os.Stat(s.path("moves", pub+".lock")); err != nil {
		return false
	}
	unlock, err := s.lockPub(pub, "")
	if err != nil {
		return errors.Is(err, ErrBusy)
	}
	unlock()
	return false
}

// lockPub takes pub's lock for what (flock, released by the kernel if the
// process dies) without waiting. The lock file says who holds it.
func (s *Store) lockPub(pub, what string) (unlock func(), err error) {
	if err := checkName(pub); err != nil {
		return nil, err
	}
	if err := s.ensure(); err != nil {
		return nil, err
	}
	path := s.path("moves", pub+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("identity store: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s): wait for it to end", ErrBusy, holderText(holder))
		}
		return nil, fmt.Errorf("identity store: lock %s: %w", path, err)
	}
	if what != "" {
		_ = f.Truncate(0)
		_, _ = fmt.Fprintf(f, "%s, pid %d, since %s", what, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func holderText(b []byte) string {
	if len(b) == 0 || len(b) > 100 {
		return "held by another process"
	}
	return "by " + string(b)
}
