// Package audit is buttctl's audit log: one JSON-lines file per inventory
// that every buttctl process appends to (watch, apply, the command line, the
// console), one line per action, and the reading of it. The format is
// stable: fields are only ever added.
package audit

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Record is one line of the audit log: one action, its result and who took
// it. Times are RFC 3339 in UTC with nanoseconds.
type Record struct {
	// Time is when the action began.
	Time time.Time `json:"time"`
	// Source is what took the action: one of the Source* constants.
	Source string `json:"source"`
	// Actor is who ran it, user@host; PID its process.
	Actor string `json:"actor,omitempty"`
	PID   int    `json:"pid,omitempty"`
	// Hub is the hub acted on (for a move or reallocation: the hub the pub
	// went to); "" when the pub has no hub.
	Hub string `json:"hub"`
	// Pub is the pub acted on; "" for hub actions.
	Pub string `json:"pub,omitempty"`
	// Action says what was done (kill, start, restart, create, rm, backup,
	// restore, move, load-image, hub-create, recreate, place, ...).
	Action string `json:"action"`
	// Reason says why, where the source knows (watch's reasons, the plan's).
	Reason string `json:"reason"`
	// Result is one of the Result* constants.
	Result string `json:"result"`
	// DurationMS is how long the action took.
	DurationMS int64 `json:"duration_ms"`
	// Error says why it failed or was skipped.
	Error string `json:"error,omitempty"`
	// From is the hub a moved or reallocated pub left.
	From string `json:"from,omitempty"`
	// Attempt numbers a heal within its pub's current series (1: the first).
	Attempt int `json:"attempt,omitempty"`
	// Identity is the pub's public SSB id, where the action concerns it
	// (never its secret).
	Identity string `json:"identity,omitempty"`
	// Image is the image an action copied or pulled (load-image).
	Image string `json:"image,omitempty"`
}

// Sources of records.
const (
	SourceWatch   = "watch"
	SourceApply   = "apply"
	SourceCLI     = "cli"
	SourceConsole = "console"
)

// Results of actions.
const (
	ResultOK     = "ok"
	ResultFailed = "failed"
	// ResultDryRun: watch --dry-run; nothing was done.
	ResultDryRun = "dry-run"
	// ResultSkipped: the action was not needed or not possible (see the error).
	ResultSkipped = "skipped"
)

// maxError bounds a record's error, so that every line stays small (one
// write of a few KiB, appended whole).
const maxError = 2000

// Log appends Records to a JSON-lines file: each line is one write to a
// file opened O_APPEND, so that several processes appending at once never
// interleave their lines, and each is on disk as soon as it is written
// (`tail -f` and the console see it at once). Views made with As share the
// file. Safe for concurrent use; a nil *Log records nothing.
type Log struct {
	out    *output
	source string
	actor  string
	pid    int
}

// output is where a Log's lines go: a file opened at the first write, or
// a stream.
type output struct {
	mu     sync.Mutex
	pathOf func() string
	w      io.Writer
	file   *os.File
	// OnError, if set, hears of lines that could not be written.
	onError func(error)
}

// File is the audit log at path, written as source. The file (0600) and
// its directory (0700) are made at the first write, so that a process that
// records nothing leaves nothing behind; Open makes them at once.
func File(path, source string) *Log {
	return FileAt(func() string { return path }, source)
}

// FileAt is File with a path known only at the first write (a command's
// inventory is known once its flags are parsed).
func FileAt(path func() string, source string) *Log {
	return newLog(&output{pathOf: path}, source)
}

// Writer is an audit log written to w (standard output, say), as source.
func Writer(w io.Writer, source string) *Log {
	return newLog(&output{w: w}, source)
}

func newLog(o *output, source string) *Log {
	return &Log{out: o, source: source, actor: Actor(), pid: os.Getpid()}
}

// As is a view of l that writes as source.
func (l *Log) As(source string) *Log {
	if l == nil {
		return nil
	}
	v := *l
	v.source = source
	return &v
}

// OnError makes fn hear of each record that could not be written (the
// action itself is not undone). It returns l.
func (l *Log) OnError(fn func(error)) *Log {
	if l != nil {
		l.out.mu.Lock()
		l.out.onError = fn
		l.out.mu.Unlock()
	}
	return l
}

// Path is the log's file ("" for a stream or a nil log).
func (l *Log) Path() string {
	if l == nil || l.out.pathOf == nil {
		return ""
	}
	return l.out.pathOf()
}

// Open opens the log's file now (creating it and its directory), to fail
// early rather than at the first record.
func (l *Log) Open() error {
	if l == nil {
		return nil
	}
	l.out.mu.Lock()
	defer l.out.mu.Unlock()
	return l.out.openLocked()
}

func (o *output) openLocked() error {
	if o.w != nil {
		return nil
	}
	path := o.pathOf()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	o.w, o.file = f, f
	return nil
}

// Write appends r as one line. The log fills in what r leaves empty: the
// time (now), the source, the actor and the process.
func (l *Log) Write(r Record) error {
	if l == nil {
		return nil
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC()
	if r.Source == "" {
		r.Source = l.source
	}
	if r.Actor == "" {
		r.Actor = l.actor
	}
	if r.PID == 0 {
		r.PID = l.pid
	}
	r.Error = Scrub(r.Error)
	if len(r.Error) > maxError {
		r.Error = r.Error[:maxError] + "…"
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	o := l.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if err = o.openLocked(); err == nil {
		_, err = o.w.Write(append(b, '\n'))
	}
	if err != nil && o.onError != nil {
		o.onError(err)
	}
	return err
}

// Begin starts the record of an action; the function it returns ends it
// when the action is done: it writes r with the action's duration, and
// result ok, or failed with err. Use it as
//
//	defer log.Begin(audit.Record{Action: "restart", Pub: name}).End(&err)
func (l *Log) Begin(r Record) *Pending {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	return &Pending{Record: r, log: l}
}

// Pending is an action under way, recorded when it ends. What the action
// learns as it goes (its hub, an identity) may be filled into its Record
// until then.
type Pending struct {
	Record
	log *Log
}

// End writes the record with the outcome *err (nil: ok).
func (p *Pending) End(err *error) {
	if p.log == nil {
		return
	}
	r := p.Record
	r.DurationMS = time.Since(r.Time).Milliseconds()
	r.Result = ResultOK
	if err != nil && *err != nil {
		r.Result, r.Error = ResultFailed, (*err).Error()
	}
	_ = p.log.Write(r)
}

// Close closes the log's file, if it opened one.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.out.mu.Lock()
	defer l.out.mu.Unlock()
	if l.out.file == nil {
		return nil
	}
	err := l.out.file.Close()
	l.out.file, l.out.w = nil, nil
	return err
}

// Read reads the records of an audit log, skipping lines that are not
// records (a line cut short by a crash).
func Read(r io.Reader) ([]Record, error) {
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

// ReadFile reads the records of the audit log at path.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}

// Dir is the directory of an inventory's local state (its audit log,
// watch's state file), under buttctl's state directory stateDir:
// <stateDir>/watch/<inventory name>-<hash of its absolute path>.
func Dir(stateDir, inventoryPath string) string {
	abs, err := filepath.Abs(inventoryPath)
	if err != nil {
		abs = inventoryPath
	}
	sum := sha256.Sum256([]byte(abs))
	base := strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs))
	return filepath.Join(stateDir, "watch", base+"-"+hex.EncodeToString(sum[:4]))
}

// DefaultPath is the audit log of the inventory at inventoryPath, the one
// every buttctl process of that inventory appends to unless told otherwise.
func DefaultPath(stateDir, inventoryPath string) string {
	return filepath.Join(Dir(stateDir, inventoryPath), "audit.jsonl")
}

// Actor is who this process runs as: user@host.
func Actor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	if host == "" {
		return name
	}
	return name + "@" + host
}

// secretText matches what must never reach the log even inside an error:
// an SSB secret key (64 bytes, base64, .ed25519) and an invite's seed.
var secretText = regexp.MustCompile(`[A-Za-z0-9+/]{86}==(\.ed25519)?|~[A-Za-z0-9+/]{43}=`)

// Scrub removes secrets from s.
func Scrub(s string) string {
	if !strings.Contains(s, "==") && !strings.Contains(s, "~") { // base64 of both ends so
		return s
	}
	return secretText.ReplaceAllString(s, "[secret removed]")
}
