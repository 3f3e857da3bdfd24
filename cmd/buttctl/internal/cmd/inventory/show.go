package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	model "github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/identity"
)

// ShowOptions is everything `buttctl inventory show` needs.
type ShowOptions struct {
	IO        *iostreams.IOStreams
	Inventory func() (*model.Inventory, error)
	// Store is the local identity store, whose identities and last backups
	// are shown with the pubs (nil: not shown).
	Store  func() (*identity.Store, error)
	Output output.Format
}

// NewCmdShow builds `buttctl inventory show`; runF replaces the run in tests.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IOStreams, Inventory: f.Inventory, Store: f.IdentityStore}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the inventory with every default applied",
		Long: `Print the inventory as buttctl understands it: every default applied (each pub
with its image, port, memory, restart policy, state and health settings), as
YAML (the default) or JSON with the snake_case field names of the file.
Each pub this machine has backed up, restored or moved also shows the
identity recorded for it and the time of its last backup, from the local
identity store: a comment above the pub in YAML (which stays a valid
inventory), fields identity and last_backup in JSON.`,
		Args: cmdutil.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return ShowRun(opts)
		},
	}
	output.AddFlag(cmd, &opts.Output, output.YAML, output.JSON)
	return cmd
}

// ShowRun prints the inventory.
func ShowRun(opts *ShowOptions) error {
	inv, err := opts.Inventory()
	if err != nil {
		return err
	}
	if opts.Store == nil {
		return output.Export(opts.IO.Out, opts.Output, inv)
	}
	store, err := opts.Store()
	if err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "buttctl: %v (identities and backups not shown)\n", err)
		return output.Export(opts.IO.Out, opts.Output, inv)
	}
	if opts.Output == output.YAML {
		var buf bytes.Buffer
		if err := output.Export(&buf, opts.Output, inv); err != nil {
			return err
		}
		_, err := opts.IO.Out.Write(commentPubs(buf.Bytes(), store))
		return err
	}
	shown, err := withIdentities(inv, store)
	if err != nil {
		return err
	}
	return output.Export(opts.IO.Out, opts.Output, shown)
}

var pubItem = regexp.MustCompile(`^(\s*)- name: (\S+)$`)

// commentPubs puts, above each pub of an inventory's YAML, a comment with
// its recorded identity and last backup.
func commentPubs(yaml []byte, store *identity.Store) []byte {
	var out bytes.Buffer
	inPubs := false
	for _, line := range strings.SplitAfter(string(yaml), "\n") {
		trimmed := strings.TrimRight(line, "\n")
		if trimmed != "" && !strings.HasPrefix(trimmed, " ") && !strings.HasPrefix(trimmed, "-") {
			inPubs = trimmed == "pubs:"
		}
		if m := pubItem.FindStringSubmatch(trimmed); inPubs && m != nil {
			if id, last := store.Known(m[2]); id != "" {
				when := "never backed up"
				if last != nil {
					when = "last backup " + last.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(&out, "%s# identity %s, %s\n", m[1], id, when)
			}
		}
		out.WriteString(line)
	}
	return out.Bytes()
}

// shownPub is a pub with what the identity store knows of it.
type shownPub struct {
	model.Pub
	Identity   string     `json:"identity,omitempty"`
	LastBackup *time.Time `json:"last_backup,omitempty"`
}

// withIdentities is inv as JSON, its fields in their order, each pub with
// its recorded identity and last backup.
func withIdentities(inv *model.Inventory, store *identity.Store) (json.RawMessage, error) {
	b, err := json.Marshal(inv)
	if err != nil {
		return nil, err
	}
	pubs := make([]shownPub, len(inv.Pubs))
	for i, p := range inv.Pubs {
		pubs[i].Pub = p
		pubs[i].Identity, pubs[i].LastBackup = store.Known(p.Name)
	}
	pb, err := json.Marshal(pubs)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for i := 0; dec.More(); i++ {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		if key == "pubs" {
			val = pb
		}
		kb, _ := json.Marshal(key)
		if i > 0 {
			out.WriteByte(',')
		}
		out.Write(kb)
		out.WriteByte(':')
		out.Write(val)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}
