package watch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/buttctl/buttctl/ops/audit"
)

// Notifier tells someone of an action watch took: kills, heals,
// quarantines, hubs going down and coming back, reallocations.
type Notifier interface {
	Notify(ctx context.Context, r audit.Record) error
}

// notified reports whether an action is worth a notification.
func notified(action string) bool {
	switch action {
	case ActionKill, ActionStart, ActionRecreate, ActionRestore, ActionQuarantine, ActionRecover,
		ActionStopStale, ActionRemoveStale, ActionHubDown, ActionHubUp, ActionReboot, ActionReallocate:
		return true
	}
	return false
}

// notifyTimeout bounds one notification.
const notifyTimeout = 10 * time.Second

// Webhook POSTs each record as JSON (the audit log's format) to URL.
type Webhook struct {
	URL    string
	Client *http.Client
}

// Notify posts r; any status but 2xx is an error.
func (h Webhook) Notify(ctx context.Context, r audit.Record) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "buttctl-watch")
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("webhook: %s answered %s", redactURL(h.URL), res.Status)
	}
	return nil
}

// redactURL drops a URL's user information and query (tokens live there).
func redactURL(u string) string {
	if i := strings.Index(u, "?"); i >= 0 {
		u = u[:i] + "?…"
	}
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.Index(u[i+3:], "@"); j >= 0 {
			u = u[:i+3] + "…@" + u[i+3+j+1:]
		}
	}
	return u
}

// Exec runs a program for each record: Argv as given (no shell), the record
// as JSON on its standard input and in BUTTCTL_WATCH_* variables
// (ACTION, REASON, RESULT, HUB, PUB, ERROR, TIME).
type Exec struct {
	Argv []string
}

// Notify runs the program and waits for it; a non-zero exit is an error.
func (x Exec) Notify(ctx context.Context, r audit.Record) error {
	if len(x.Argv) == 0 {
		return errors.New("notify-exec: no program")
	}
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, x.Argv[0], x.Argv[1:]...)
	cmd.Stdin = bytes.NewReader(append(body, '\n'))
	cmd.Env = append(os.Environ(),
		"BUTTCTL_WATCH_ACTION="+r.Action,
		"BUTTCTL_WATCH_REASON="+r.Reason,
		"BUTTCTL_WATCH_RESULT="+r.Result,
		"BUTTCTL_WATCH_HUB="+r.Hub,
		"BUTTCTL_WATCH_PUB="+r.Pub,
		"BUTTCTL_WATCH_ERROR="+r.Error,
		"BUTTCTL_WATCH_TIME="+r.Time.UTC().Format(time.RFC3339Nano),
		"BUTTCTL_WATCH_DURATION_MS="+strconv.FormatInt(r.DurationMS, 10),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		if msg != "" {
			return fmt.Errorf("notify-exec %s: %v: %s", x.Argv[0], err, msg)
		}
		return fmt.Errorf("notify-exec %s: %v", x.Argv[0], err)
	}
	return nil
}

// notifyQueue hands records to notifiers on a goroutine of its own, so
// that a slow or dead receiver never holds a heal up; when it falls behind
// by more than its buffer, records are dropped (and counted).
type notifyQueue struct {
	ch       chan audit.Record
	done     chan struct{}
	dropped  func()
	failed   func(error)
	notifier []Notifier
}

func newNotifyQueue(ns []Notifier, dropped func(), failed func(error)) *notifyQueue {
	q := &notifyQueue{ch: make(chan audit.Record, 256), done: make(chan struct{}), notifier: ns, dropped: dropped, failed: failed}
	go q.run()
	return q
}

func (q *notifyQueue) run() {
	defer close(q.done)
	for r := range q.ch {
		for _, n := range q.notifier {
			if err := n.Notify(context.Background(), r); err != nil && q.failed != nil {
				q.failed(err)
			}
		}
	}
}

func (q *notifyQueue) send(r audit.Record) {
	if q == nil || len(q.notifier) == 0 || !notified(r.Action) {
		return
	}
	select {
	case q.ch <- r:
	default:
		if q.dropped != nil {
			q.dropped()
		}
	}
}

// close delivers what is queued (each within notifyTimeout) and stops.
func (q *notifyQueue) close() {
	if q == nil {
		return
	}
	close(q.ch)
	<-q.done
}
