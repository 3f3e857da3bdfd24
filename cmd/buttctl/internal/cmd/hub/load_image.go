package hub

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/hubconn"
	"github.com/buttctl/buttctl/ops/pubs"
)

// LoadImageOptions is everything `buttctl hub load-image` needs.
type LoadImageOptions struct {
	IO    *iostreams.IOStreams
	Conns func() (*hubconn.Conns, error)
	// Audit receives the record of what was done (nil: none).
	Audit *audit.Log
	Hub   string
	Image string
	// LocalSocket is this machine's Docker socket, where the image comes from.
	LocalSocket string
	Timeout     time.Duration
}

// NewCmdLoadImage builds `buttctl hub load-image`; runF replaces the run in tests.
func NewCmdLoadImage(f *cmdutil.Factory, runF func(*LoadImageOptions) error) *cobra.Command {
	opts := &LoadImageOptions{IO: f.IOStreams, Conns: f.Conns, Audit: f.Audit}
	cmd := &cobra.Command{
		Use:   "load-image HUB IMAGE",
		Short: "Copy an image from this machine's Docker engine to a hub's",
		Long: `Stream IMAGE from this machine's Docker engine to the hub's (docker save, then
docker load, through the hub's SSH connection: nothing is written to disk on
the way), for hubs that cannot pull from a registry. A hub that has this very
image already is left alone. Progress is shown on a terminal.`,
		Example: `  buttctl hub load-image hub-1 ahdinosaur/ssb-pub:latest`,
		Args:    cmdutil.Args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Hub, opts.Image = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return loadImageRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.LocalSocket, "local-socket", "", "this machine's Docker socket (default: the local hub's docker_socket, else /var/run/docker.sock)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "time allowed for the copy (0 = no limit)")
	return cmd
}

func loadImageRun(opts *LoadImageOptions) error {
	conns, err := opts.Conns()
	if err != nil {
		return err
	}
	inv := conns.Inventory()
	if _, err := conns.Hub(opts.Hub); err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	socket := opts.LocalSocket
	for _, h := range inv.Hubs {
		if socket == "" && h.Local {
			socket = h.DockerSocket
		}
	}
	svc := pubs.New(inv, conns)
	defer svc.Close()
	svc.Audit = opts.Audit
	ctx, cancel := context.WithCancel(context.Background())
	if opts.Timeout > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), opts.Timeout)
	}
	defer cancel()

	var progress func(sent, size int64)
	var bar *progressLine
	if opts.IO.IsStderrTTY() {
		bar = &progressLine{io: opts.IO, what: fmt.Sprintf("loading %s onto %s", opts.Image, opts.Hub)}
		progress = bar.update
	}
	r, err := svc.LoadImage(ctx, opts.Hub, opts.Image, socket, progress)
	if bar != nil {
		bar.clear()
	}
	if err != nil {
		return err
	}
	if r.AlreadyThere {
		_, err = fmt.Fprintf(opts.IO.Out, "%s has %s already (%s)\n", opts.Hub, opts.Image, shortID(r.ID))
		return err
	}
	_, err = fmt.Fprintf(opts.IO.Out, "loaded %s onto %s (%s, %s sent)\n", opts.Image, opts.Hub, shortID(r.ID), formatBytes(r.Sent))
	return err
}

func shortID(id string) string {
	if len(id) > 19 {
		return id[:19]
	}
	return id
}

// progressLine redraws one line on a terminal's stderr, at most every 100ms.
type progressLine struct {
	io   *iostreams.IOStreams
	what string

	mu   sync.Mutex
	last time.Time
}

func (p *progressLine) update(sent, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	line := fmt.Sprintf("%s: %s", p.what, formatBytes(sent))
	if size > 0 {
		line += fmt.Sprintf(" of ~%s (%d%%)", formatBytes(size), min(100, sent*100/size))
	}
	fmt.Fprintf(p.io.ErrOut, "\r\x1b[K%s", line)
}

func (p *progressLine) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.io.ErrOut, "\r\x1b[K")
}
