// Package cmdutil holds what every buttctl command shares: the Factory of
// lazily built dependencies, typed errors and their exit codes, flag helpers.
package cmdutil

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/identity"
	"github.com/buttctl/buttctl/ops/pubs"
	"github.com/buttctl/buttctl/sshexec"
)

// EnvInventory names the environment variable that points at the inventory.
const EnvInventory = "BUTTCTL_INVENTORY"

// EnvAuditLog names the environment variable that moves the audit log.
const EnvAuditLog = "BUTTCTL_AUDIT_LOG"

// Factory builds what commands need, lazily, once per invocation.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// InventoryFlag is the value of -i/--inventory ("" when not given).
	InventoryFlag string
	// Version information stamped at build time.
	Version, Commit string

	// Inventory loads the inventory the user pointed at.
	Inventory func() (*inventory.Inventory, error)
	// Conns reaches the inventory's hubs (one shared SSH connection per hub).
	Conns func() (*hubconn.Conns, error)
	// IdentityStore opens the local identity store (under StateDir, 0700).
	IdentityStore func() (*identity.Store, error)
	// Audit is the inventory's audit log (AuditLogPath), made at its first
	// record: every change a command makes is recorded there, as source cli.
	Audit *audit.Log

	conns *hubconn.Conns
}

// Close releases what the Factory built (the hubs' SSH connections).
func (f *Factory) Close() {
	if f.conns != nil {
		f.conns.Close()
	}
	f.Audit.Close()
}

// New returns the Factory for a real invocation.
func New(version, commit string) *Factory {
	f := &Factory{IOStreams: iostreams.System(), Version: version, Commit: commit}
	var (
		inv  *inventory.Inventory
		err  error
		done bool
	)
	f.Inventory = func() (*inventory.Inventory, error) {
		if !done {
			inv, err = inventory.Load(f.InventoryPath())
			done = true
		}
		return inv, err
	}
	f.Conns = func() (*hubconn.Conns, error) {
		if f.conns == nil {
			inv, err := f.Inventory()
			if err != nil {
				return nil, err
			}
			errOut := f.IOStreams.ErrOut
			f.conns = hubconn.New(inv, hubconn.Options{Pool: sshexec.PoolOptions{
				Logf: func(format string, a ...any) { fmt.Fprintf(errOut, "buttctl: "+format+"\n", a...) },
			}})
		}
		return f.conns, nil
	}
	f.IdentityStore = func() (*identity.Store, error) { return identity.OpenStore(StateDir()) }
	f.Audit = audit.FileAt(func() string { return AuditLogPath(StateDir(), f.InventoryPath()) }, audit.SourceCLI).
		OnError(func(err error) {
			fmt.Fprintf(f.IOStreams.ErrOut, "buttctl: %v (what was done is not recorded there)\n", err)
		})
	return f
}

// Pubs returns the pub operations over the inventory's hubs, through the
// shared connections (Conns), recording what they change in Audit. The
// caller closes it.
func (f *Factory) Pubs() (*pubs.Service, error) {
	conns, err := f.Conns()
	if err != nil {
		return nil, err
	}
	svc := pubs.New(conns.Inventory(), conns)
	svc.Audit = f.Audit
	return svc, nil
}

// InventoryPath resolves the inventory file: -i, then $BUTTCTL_INVENTORY,
// then ./buttctl.yaml if it exists, then $XDG_CONFIG_HOME/buttctl/buttctl.yaml.
func (f *Factory) InventoryPath() string {
	if f.InventoryFlag != "" {
		return f.InventoryFlag
	}
	if p := os.Getenv(EnvInventory); p != "" {
		return p
	}
	if _, err := os.Stat("buttctl.yaml"); err == nil {
		return "buttctl.yaml"
	}
	return filepath.Join(ConfigDir(), "buttctl.yaml")
}

// InitPath is where `buttctl init` writes a new inventory: -i, then
// $BUTTCTL_INVENTORY, then ./buttctl.yaml (never the XDG directory unless
// pointed there).
func (f *Factory) InitPath() string {
	if f.InventoryFlag != "" {
		return f.InventoryFlag
	}
	if p := os.Getenv(EnvInventory); p != "" {
		return p
	}
	return "buttctl.yaml"
}

// ConfigDir is buttctl's directory under the XDG config home.
func ConfigDir() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "buttctl")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".config", "buttctl")
	}
	return "."
}

// StateDir is where buttctl keeps local state (identity backups, audit log),
// under the XDG state home. It is created 0700 by whoever writes to it.
func StateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "buttctl")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "buttctl")
	}
	return "."
}

// AuditLogPath is the audit log of the inventory at inventoryPath, the one
// file every buttctl process of that inventory appends to: $BUTTCTL_AUDIT_LOG
// if set, else the inventory's under stateDir (audit.DefaultPath).
func AuditLogPath(stateDir, inventoryPath string) string {
	if p := os.Getenv(EnvAuditLog); p != "" {
		return p
	}
	return audit.DefaultPath(stateDir, inventoryPath)
}
