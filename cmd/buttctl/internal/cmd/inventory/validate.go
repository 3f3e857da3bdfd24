package inventory

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	model "github.com/buttctl/buttctl/inventory"
)

// ValidateOptions is everything `buttctl inventory validate` needs.
type ValidateOptions struct {
	IO        *iostreams.IOStreams
	Path      func() string
	Inventory func() (*model.Inventory, error)
	Output    output.Format
}

// Validation is the machine-readable result of validate.
type Validation struct {
	Path     string          `json:"path"`
	Valid    bool            `json:"valid"`
	Hubs     int             `json:"hubs"`
	Pubs     int             `json:"pubs"`
	Problems []model.Problem `json:"problems"`
}

// NewCmdValidate builds `buttctl inventory validate`; runF replaces the run in tests.
func NewCmdValidate(f *cmdutil.Factory, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: f.IOStreams, Path: f.InventoryPath, Inventory: f.Inventory}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the inventory; print every problem with its line and column",
		Long: `Check the inventory strictly and print every problem at once, one per line on
stderr, as file:line:column: what is wrong; what to write instead. Exits 1 if
there is any problem, and prints "ok: N hubs, M pubs" if there is none.
With -o json|yaml the result (including the problems) goes to stdout.`,
		Args: cmdutil.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return ValidateRun(opts)
		},
	}
	output.AddFlag(cmd, &opts.Output, output.Table, output.JSON, output.YAML)
	return cmd
}

// ValidateRun checks the inventory.
func ValidateRun(opts *ValidateOptions) error {
	inv, err := opts.Inventory()
	var errs *model.Errors
	if err != nil && !errors.As(err, &errs) {
		return err
	}
	res := Validation{Path: opts.Path(), Valid: err == nil, Problems: []model.Problem{}}
	if errs != nil {
		res.Problems = errs.Problems
	} else {
		res.Hubs, res.Pubs = len(inv.Hubs), len(inv.Pubs)
	}
	if opts.Output.IsMachine() {
		if err := output.Export(opts.IO.Out, opts.Output, res); err != nil {
			return err
		}
		if !res.Valid {
			return &cmdutil.ExitCodeError{Code: cmdutil.ExitError}
		}
		return nil
	}
	if !res.Valid {
		return err
	}
	_, err = fmt.Fprintf(opts.IO.Out, "ok: %s, %s\n", count(res.Hubs, "hub"), count(res.Pubs, "pub"))
	return err
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
