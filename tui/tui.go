// Package tui is buttctl's console: a full-screen Bubble Tea program for
// managing the fleet live. One root Model holds what is known of every hub
// and pub and shows it in views (Hubs, Pubs, a pub's detail, Logs, Plan,
// Events); every I/O runs in a tea.Cmd with a timeout, and the engines'
// event streams and log follows (package ops/live, ops/pubs) are bridged into
// the program here, so that input never waits on a hub and ops never knows
// about Bubble Tea. Rows are made by the pure functions of tui/render.
package tui

import (
	"context"
	"errors"

	tea "charm.land/bubbletea/v2"

	"github.com/buttctl/buttctl/inventory"
)

// Run opens the console on inv until the operator quits or ctx is done.
// Program options (input, output, size) are for tests.
func Run(ctx context.Context, inv *inventory.Inventory, opts Options, progOpts ...tea.ProgramOption) error {
	m := New(inv, opts)
	defer m.Close()
	p := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx)}, progOpts...)...)
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Close stops the streams the console follows and releases its connections.
func (m *Model) Close() error {
	if m.evCancel != nil {
		m.evCancel()
	}
	if m.auCancel != nil {
		m.auCancel()
	}
	if m.logs.cancel != nil {
		m.logs.cancel()
	}
	m.notices.close()
	return m.be.close()
}
