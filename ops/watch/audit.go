package watch

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Record is one line of the audit log: one action watch took (or, with
// --dry-run, would have taken). The format is stable: fields are only ever
// added. Times are RFC 3339 in UTC with nanoseconds.
type Record struct {
	Time time.Time `json:"time"`
	// Source is "watch": the audit logs of several tools can be read together.
	Source string `json:"source"`
	// Hub is the hub acted on (for a reallocation: the hub the pub went to).
	Hub string `json:"hub"`
	// Pub is the pub acted on; "" for hub actions.
	Pub string `json:"pub,omitempty"`
	// Action is one of the Action* constants; Reason one of the Reason* ones.
	Action string `json:"action"`
	Reason string `json:"reason"`
	// Result is ResultOK, ResultFailed, ResultDryRun or ResultSkipped.
	Result string `json:"result"`
	// DurationMS is how long the action took.
	DurationMS int64 `json:"duration_ms"`
	// Error says why it failed or was skipped.
	Error string `json:"error,omitempty"`
	// From is the hub a reallocated pub left.
	From string `json:"from,omitempty"`
	// Attempt numbers a heal within its pub's current series (1: the first).
	Attempt int `json:"attempt,omitempty"`
	// Identity is the pub's public SSB id, where the action concerns it.
	Identity string `json:"identity,omitempty"`
}

// Source is the source of watch's records.
const Source = "watch"

// AuditLog appends Records to a JSON-lines file, one line per write, each
// flushed as it is written so that `tail -f` (and the console) see it at
// once. Safe for concurrent use.
type AuditLog struct {
	mu   sync.Mutex
	w    io.Writer
	file *os.File
}

// OpenAuditLog opens (creating it, 0600, and its directory, 0700) the audit
// log at path for appending.
func OpenAuditLog(path string) (*AuditLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &AuditLog{w: f, file: f}, nil
}

// NewAuditLog writes the audit log to w (e.g. standard output).
func NewAuditLog(w io.Writer) *AuditLog { return &AuditLog{w: w} }

// Write appends r as one line.
func (a *AuditLog) Write(r Record) error {
	if a == nil {
		return nil
	}
	r.Time = r.Time.UTC()
	if r.Source == "" {
		r.Source = Source
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, err = a.w.Write(append(b, '\n'))
	return err
}

// Close closes the file the log writes to, if it opened one.
func (a *AuditLog) Close() error {
	if a == nil || a.file == nil {
		return nil
	}
	return a.file.Close()
}

// ReadAudit reads the records of an audit log, skipping lines that are not
// records (a line cut short by a crash).
func ReadAudit(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Action == "" {
			continue
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return out, err
	}
	return out, nil
}
