package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/cloud"
	"github.com/buttctl/buttctl/ops/provision"
)

// ConnectCloud connects to the cloud an inventory names; tests replace it.
type ConnectCloud func(ctx context.Context, inv *inventory.Inventory) (provision.Cloud, error)

// errNoCloud is what the cloud verbs say when the inventory has no cloud section.
func errNoCloud(inv *inventory.Inventory, verb string) error {
	where := "the inventory"
	if inv.Path != "" {
		where = inv.Path
	}
	return fmt.Errorf("hub %s needs a cloud, and no cloud is configured in %s: add 'cloud: {name: ENTRY}' (ENTRY from your clouds.yaml); every other command works without one", verb, where)
}

// connectInventoryCloud is the real ConnectCloud: clouds.yaml entry
// cloud.name, region cloud.region.
func connectInventoryCloud(ctx context.Context, inv *inventory.Inventory) (provision.Cloud, error) {
	c, err := cloud.Connect(ctx, cloud.Config{Name: inv.Cloud.Name, Region: inv.Cloud.Region})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// cloudFor checks that inv has a cloud section and connects to it.
func cloudFor(ctx context.Context, connect ConnectCloud, inv *inventory.Inventory, verb string) (provision.Cloud, error) {
	if inv.Cloud == nil || inv.Cloud.Name == "" {
		return nil, errNoCloud(inv, verb)
	}
	if connect == nil {
		connect = connectInventoryCloud
	}
	return connect(ctx, inv)
}

// expandPath resolves ~/ and paths relative to the inventory's directory.
func expandPath(inv *inventory.Inventory, p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	if p != "" && !filepath.IsAbs(p) && inv.Path != "" {
		return filepath.Join(filepath.Dir(inv.Path), p)
	}
	return p
}

// progressPrinter shows provisioning events on stderr: one line per event
// off a terminal; on a terminal, finished steps as lines and the server's
// current status behind a spinner.
type progressPrinter struct {
	io      *iostreams.IOStreams
	mu      sync.Mutex
	current string
	stop    chan struct{}
	done    chan struct{}
}

func newProgress(io *iostreams.IOStreams) *progressPrinter {
	p := &progressPrinter{io: io}
	if io.IsStderrTTY() {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.spin()
	}
	return p
}

func (p *progressPrinter) event(e provision.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop == nil {
		fmt.Fprintf(p.io.ErrOut, "%s: %s\n", e.Hub, e.Message)
		return
	}
	fmt.Fprint(p.io.ErrOut, "\r\x1b[K")
	if e.Step == "status" && e.Status != cloud.StatusActive && e.Status != "deleted" {
		p.current = e.Hub + ": " + e.Message
		return
	}
	p.current = ""
	fmt.Fprintf(p.io.ErrOut, "✓ %s: %s\n", e.Hub, e.Message)
}

func (p *progressPrinter) spin() {
	defer close(p.done)
	frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.current != "" {
				fmt.Fprintf(p.io.ErrOut, "\r\x1b[K%c %s", frames[i%len(frames)], p.current)
			}
			p.mu.Unlock()
		}
	}
}

// close stops the spinner and clears its line.
func (p *progressPrinter) close() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	if p.current != "" {
		fmt.Fprint(p.io.ErrOut, "\r\x1b[K")
	}
}

// confirm asks a yes/no question on a terminal. Off one it refuses unless yes.
func confirm(io *iostreams.IOStreams, yes bool, question, flagHint string) error {
	if yes {
		return nil
	}
	if !io.CanPrompt() {
		return errConfirm(flagHint)
	}
	fmt.Fprintf(io.Out, "%s [y/N] ", question)
	var answer string
	fmt.Fscanln(io.In, &answer)
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return errors.New("not confirmed: nothing was changed")
	}
	return nil
}

func errConfirm(flagHint string) error {
	return cmdutil.Usagef("not a terminal, so nothing can be confirmed: pass --yes to %s", flagHint)
}
