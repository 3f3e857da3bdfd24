// Package initcmd implements `buttctl init`, which writes a starter inventory.
package initcmd

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/inventory"
)

// Options is everything `buttctl init` needs.
type Options struct {
	IO *iostreams.IOStreams
	// Path is where the inventory is written.
	Path string
	// Image, when set, is the pubs' default image instead of ahdinosaur/ssb-pub
	// (make run sets buttctl/testpub where the default cannot be pulled).
	Image string
}

// NewCmdInit builds `buttctl init`; runF replaces the run in tests.
func NewCmdInit(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a starter inventory (never overwrites one)",
		Long: `Write a starter inventory: version 1, one hub named local (this machine's
Docker engine, no SSH), the default pub image, and every other section
explained in comments. It goes to -i/--inventory, else $` + cmdutil.EnvInventory + `,
else ./buttctl.yaml. An existing file is never overwritten.

--image sets the pubs' default image, for machines that reach no registry
(make run uses the locally built buttctl/testpub there).`,
		Example: `  buttctl init
  buttctl init --image buttctl/testpub`,
		Args: cmdutil.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = f.InitPath()
			if opts.Image != "" && !inventory.IsImageRef(opts.Image) {
				return cmdutil.Usagef("--image %q is not an image reference such as ahdinosaur/ssb-pub", opts.Image)
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Image, "image", "", "the pubs' default image (default "+inventory.DefaultImage+")")
	return cmd
}

// Run writes the starter inventory.
func Run(opts *Options) error {
	data := inventory.Starter()
	if opts.Image != "" && opts.Image != inventory.DefaultImage {
		const def = "  image: " + inventory.DefaultImage + "\n"
		if !bytes.Contains(data, []byte(def)) {
			return fmt.Errorf("init --image: the starter inventory has no default image line to set")
		}
		data = bytes.Replace(data, []byte(def), []byte("  image: "+opts.Image+"   # set by 'buttctl init --image'\n"), 1)
	}
	if err := inventory.Create(opts.Path, data); err != nil {
		return err
	}
	_, err := fmt.Fprintf(opts.IO.Out, "wrote %s: hub local (this machine's Docker engine), no pubs yet\nnext: add pubs under pubs:, then 'buttctl inventory validate'\n", opts.Path)
	return err
}
