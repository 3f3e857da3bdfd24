package tui

import (
	"context"
	"time"

	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/fleet"
	"github.com/buttctl/buttctl/ops/hubs"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/live"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/ops/watch"
)

// Messages. Each result of I/O carries the backend generation it was asked
// under; results of an older inventory are dropped.

// hubObservedMsg is one hub's observation.
type hubObservedMsg struct {
	gen  int
	hub  string
	snap *fleet.Snapshot
}

// hubFactsMsg is one hub's facts.
type hubFactsMsg struct {
	gen   int
	facts hubs.Facts
}

// refreshTickMsg asks for a periodic look at every hub.
type refreshTickMsg struct{}

// factsTickMsg asks for the hubs' facts again.
type factsTickMsg struct{}

// clockTickMsg re-dates uptimes.
type clockTickMsg struct{}

// spinTickMsg advances the spinners.
type spinTickMsg struct{}

// refreshHubMsg asks for one hub's observation, after events about it.
type refreshHubMsg struct {
	gen int
	hub string
}

// eventsStartedMsg is the engines' event stream, opened.
type eventsStartedMsg struct {
	gen    int
	ch     <-chan live.Event
	cancel context.CancelFunc
}

// engineEventsMsg is a batch of engine events.
type engineEventsMsg struct {
	gen    int
	events []live.Event
	ch     <-chan live.Event
}

// auditStartedMsg is the audit log's tail, opened.
type auditStartedMsg struct {
	ch     <-chan live.Record
	cancel context.CancelFunc
}

// auditMsg is a batch of audit log records.
type auditMsg struct {
	records []live.Record
	ch      <-chan live.Record
}

// noticesMsg is a batch of the SSH pool's notices.
type noticesMsg struct {
	notices []string
	box     *mailbox[string]
}

// actionDoneMsg says how an action on a pub or hub went.
type actionDoneMsg struct {
	gen    int
	act    action
	result string
	err    error
}

// identitiesMsg carries pubs' SSB ids.
type identitiesMsg struct {
	gen int
	ids map[string]string
	// failed are pubs that did not answer.
	failed []string
}

// whoamiMsg answers w.
type whoamiMsg struct {
	pub, id string
	err     error
}

// inviteMsg answers i.
type inviteMsg struct {
	pub, code string
	err       error
}

// inspectMsg is a pub's inspection for the detail view, with what the
// identity store knows of it.
type inspectMsg struct {
	gen int
	pub string
	ins pubs.Inspection
	err error
	// recorded: the store knows its identity (id); backup is its last backup.
	recorded bool
	id       string
	backup   *identity.BackupRecord
}

// inventoryMsg is the inventory, read again (after an edit, or because the
// file changed).
type inventoryMsg struct {
	inv *inventory.Inventory
	err error
	// why says what made it change ("" for an edit on disk).
	why string
}

// invStatMsg is the inventory file's state and who watches it: the
// watcher's pid and, from its state file, how it sees each pub.
type invStatMsg struct {
	mod   time.Time
	watch string
	err   error
	// pubs is the watcher's view of each pub (nil: no watcher, or no state).
	pubs map[string]watch.PubState
}

// logLinesMsg is a batch of log lines of session.
type logLinesMsg struct {
	session int
	lines   []logLine
	dropped int
	open    bool
}

// closeBackendMsg releases a backend no command uses any more.
type closeBackendMsg struct{ b *backend }
