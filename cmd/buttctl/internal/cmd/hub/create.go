package hub

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/inventory"
	"github.com/buttctl/buttctl/ops/audit"
	"github.com/buttctl/buttctl/ops/provision"
)

// CreateOptions is everything `buttctl hub create` needs.
type CreateOptions struct {
	IO        *iostreams.IOStreams
	Inventory func() (*inventory.Inventory, error)
	Connect   ConnectCloud
	// Audit receives the record of what was done (nil: none).
	Audit *audit.Log

	Name           string
	Flavor         string
	Image          string
	Network        string
	Keypair        string
	SecurityGroups []string
	NoWait         bool
	Timeout        time.Duration
	Output         output.Format
}

// NewCmdCreate builds `buttctl hub create`; runF replaces the run in tests.
func NewCmdCreate(f *cmdutil.Factory, runF func(*CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{IO: f.IOStreams, Inventory: f.Inventory, Audit: f.Audit}
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a hub: a server on the OpenStack cloud with Docker, recorded in the inventory",
		Long: `Create a hub on the inventory's cloud (cloud.name, an entry of clouds.yaml):
ensure the keypair (from your public key) and a security group open to SSH
and the pub ports, boot a server tagged buttctl.hub=NAME whose cloud-init
installs the distribution's Docker, wait until it is ACTIVE, verify its SSH
host key from its console log (never trusted blindly), wait for SSH and the
Docker engine, and only then record the hub in the inventory.
Flags override the inventory's cloud.server defaults.`,
		Example: `  buttctl hub create hub-2
  buttctl hub create hub-3 --flavor b2-7 --no-wait`,
		Args: cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if !inventory.IsDNSLabel(opts.Name) {
				return cmdutil.Usagef("hub name %q: use a short lowercase name of letters, digits and dashes, e.g. hub-2", opts.Name)
			}
			if runF != nil {
				return runF(opts)
			}
			return createRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Flavor, "flavor", "", "flavor (default cloud.server.flavor)")
	cmd.Flags().StringVar(&opts.Image, "image", "", "image (default cloud.server.image)")
	cmd.Flags().StringVar(&opts.Network, "network", "", "network (default cloud.server.network)")
	cmd.Flags().StringVar(&opts.Keypair, "keypair", "", "keypair name (default cloud.server.keypair, else buttctl)")
	cmd.Flags().StringArrayVar(&opts.SecurityGroups, "security-group", nil, "security group, repeatable (default cloud.server.security_groups, else buttctl-hub)")
	cmd.Flags().BoolVar(&opts.NoWait, "no-wait", false, "return once the cloud accepted the server (record it later with hub adopt)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 20*time.Minute, "time allowed for the whole create")
	output.AddFlag(cmd, &opts.Output, output.Table, output.JSON, output.YAML)
	return cmd
}

func createRun(opts *CreateOptions) error {
	inv, err := opts.Inventory()
	if err != nil {
		return err
	}
	if _, ok := inv.Hub(opts.Name); ok {
		return fmt.Errorf("hub %s is already in %s: choose another name", opts.Name, inv.Path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	c, err := cloudFor(ctx, opts.Connect, inv, "create")
	if err != nil {
		return err
	}
	po, err := createOptions(opts, inv)
	if err != nil {
		return err
	}
	progress := newProgress(opts.IO)
	po.Progress = progress.event
	made, err := provision.Create(ctx, c, po)
	progress.close()
	if err != nil {
		return err
	}
	if opts.Output.IsMachine() {
		return output.Export(opts.IO.Out, opts.Output, made)
	}
	if opts.NoWait {
		fmt.Fprintf(opts.IO.Out, "hub %s: server %s accepted (not waited for); record it when it is ACTIVE with: buttctl hub adopt %s --server %s\n", opts.Name, made.ServerID, opts.Name, made.ServerID)
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "hub %s created: server %s at %s, recorded in %s\n", opts.Name, made.ServerID, made.Hub.Address, inv.Path)
	return nil
}

// createOptions fills provision's options from flags, the inventory's
// cloud.server defaults and its ssh section.
func createOptions(opts *CreateOptions, inv *inventory.Inventory) (provision.CreateOptions, error) {
	s := inv.Cloud.Server
	pick := func(flag, def, fallback string) string {
		switch {
		case flag != "":
			return flag
		case def != "":
			return def
		}
		return fallback
	}
	groups := opts.SecurityGroups
	if len(groups) == 0 {
		groups = s.SecurityGroups
	}
	if len(groups) == 0 {
		groups = []string{"buttctl-hub"}
	}
	if inv.SSH.User == "" {
		return provision.CreateOptions{}, fmt.Errorf("hub create: ssh.user is not set in %s: write the image's login user, e.g. ssh: {user: debian}", inv.Path)
	}
	pubKey, err := localPublicKey(inv)
	if err != nil {
		return provision.CreateOptions{}, err
	}
	knownHosts := inv.SSH.KnownHosts
	if knownHosts == "" {
		knownHosts = "~/.ssh/known_hosts"
	}
	ports := []int{inv.Defaults.Port}
	for _, p := range inv.Pubs {
		if !slices.Contains(ports, p.Port) {
			ports = append(ports, p.Port)
		}
	}
	return provision.CreateOptions{
		Hub:            opts.Name,
		Flavor:         pick(opts.Flavor, s.Flavor, ""),
		Image:          pick(opts.Image, s.Image, ""),
		Network:        pick(opts.Network, s.Network, ""),
		Keypair:        pick(opts.Keypair, s.Keypair, "buttctl"),
		SecurityGroups: groups,
		PublicKey:      pubKey,
		SSHUser:        inv.SSH.User,
		SSHPort:        inv.SSH.Port,
		Ports:          ports,
		KnownHosts:     expandPath(inv, knownHosts),
		NoWait:         opts.NoWait,
		WaitReady:      provision.WaitReady(inv, 5*time.Second),
		Record:         provision.RecordIn(inv.Path),
		Audit:          opts.Audit,
	}, nil
}

// localPublicKey reads the public half of ssh.identity_file, or of the
// usual OpenSSH keys.
func localPublicKey(inv *inventory.Inventory) (string, error) {
	candidates := []string{"~/.ssh/id_ed25519.pub", "~/.ssh/id_ecdsa.pub", "~/.ssh/id_rsa.pub"}
	if inv.SSH.IdentityFile != "" {
		candidates = []string{inv.SSH.IdentityFile + ".pub"}
	}
	for _, c := range candidates {
		data, err := os.ReadFile(expandPath(inv, c))
		if err == nil {
			return strings.TrimSpace(string(data)), nil
		}
	}
	return "", fmt.Errorf("hub create: no public key at %s: set ssh.identity_file in %s to a key whose .pub sits beside it, or create one with ssh-keygen -t ed25519", strings.Join(candidates, ", "), inv.Path)
}

// Provision boots hub name on inv's cloud with the inventory's server
// template and records it, as 'buttctl hub create NAME' does, reporting
// its steps to progress and its record to log: the console's n in the Hubs
// view.
func Provision(ctx context.Context, inv *inventory.Inventory, name string, progress provision.Progress, log *audit.Log) (*provision.Created, error) {
	c, err := cloudFor(ctx, nil, inv, "create")
	if err != nil {
		return nil, err
	}
	po, err := createOptions(&CreateOptions{Name: name, Audit: log}, inv)
	if err != nil {
		return nil, err
	}
	po.Progress = progress
	return provision.Create(ctx, c, po)
}
