package pub

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/output"
	"github.com/buttctl/buttctl/ops/identity"
)

// DefaultTransferTimeout bounds a backup, restore or move (data included).
const DefaultTransferTimeout = time.Hour

// BackupOptions is everything `buttctl pub backup` needs.
type BackupOptions struct {
	IO      *iostreams.IOStreams
	Pubs    Pubs
	Store   func() (*identity.Store, error)
	Version string
	Now     func() time.Time

	Name       string
	File       string
	SecretOnly bool
	Stop       bool
	Output     output.Format
	Timeout    time.Duration
}

// NewCmdBackup builds `buttctl pub backup`; runF replaces the run in tests.
func NewCmdBackup(f *cmdutil.Factory, runF func(*BackupOptions) error) *cobra.Command {
	opts := &BackupOptions{IO: f.IOStreams, Pubs: pubsOf(f), Store: f.IdentityStore, Version: f.Version, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "backup NAME [-f FILE] [--secret-only]",
		Short: "Back up a pub's data and identity to a tar.gz file",
		Long: `Stream the pub's data directory off its hub (through the Docker API over the
hub's SSH connection; nothing is left on the hub) into a gzip tar file of mode
0600: manifest.json (pub, hub, identity, time, image, sha256 of the secret),
then the data under data/.

A running pub is paused for the copy (a crash-consistent snapshot, like a
sudden power cut: SSB's append-only logs recover from that) and unpaused
after; --stop stops it cleanly instead and starts it after. --secret-only
backs up the identity alone (the secret file), without pausing the pub.

The file is -f FILE (default ./NAME-<UTC time>.tar.gz; "-" writes to
standard output, which must not be a terminal). It is written beside FILE
under a temporary name and renamed when complete. The pub's identity and the
time of the backup are kept in the local identity store too.`,
		Example: `  buttctl pub backup scuttle-1
  buttctl pub backup scuttle-1 --secret-only -f ~/keys/scuttle-1.tar.gz
  buttctl pub backup scuttle-1 -f - | ssh vault 'cat > scuttle-1.tar.gz'`,
		Args: cmdutil.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if opts.File == "-" && opts.Output.IsMachine() {
				return cmdutil.Usagef("-f - writes the backup to standard output: -o %s cannot go there too", opts.Output)
			}
			if runF != nil {
				return runF(opts)
			}
			return backupRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", "", "backup file (default ./NAME-<UTC time>.tar.gz; - for standard output)")
	cmd.Flags().BoolVar(&opts.SecretOnly, "secret-only", false, "back up the identity (secret file) alone; the pub keeps running")
	cmd.Flags().BoolVar(&opts.Stop, "stop", false, "stop the pub for the copy (a clean shutdown) instead of pausing it")
	output.AddFlag(cmd, &opts.Output, output.Table, output.JSON, output.YAML)
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", DefaultTransferTimeout, "time allowed for the backup (0 = no limit)")
	return cmd
}

func backupRun(opts *BackupOptions) error {
	if opts.File == "-" && opts.IO.IsStdoutTTY() {
		return cmdutil.Usagef("refusing to write a backup (it holds the pub's secret) to a terminal: redirect standard output, or give -f FILE")
	}
	svc, err := opts.Pubs()
	if err != nil {
		return err
	}
	defer svc.Close()
	store, err := opts.Store()
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(opts.Timeout)
	defer cancel()
	ctx, stop := interruptible(ctx)
	defer stop()
	prog := newProgress(opts.IO.ErrOut, opts.IO.IsStderrTTY(), "backing up "+opts.Name+":")
	o := identity.BackupOptions{SecretOnly: opts.SecretOnly, Stop: opts.Stop, Version: opts.Version, Now: opts.Now, Progress: prog.Set}
	var res identity.BackupResult
	summary := opts.IO.Out
	if opts.File == "-" {
		summary = opts.IO.ErrOut
		res, err = identity.Backup(ctx, svc, store, opts.Name, opts.IO.Out, o)
		if err == nil {
			err = store.RecordBackup(opts.Name, identity.BackupRecord{At: res.Manifest.CreatedAt, File: "-", Hub: res.Manifest.Hub, SecretOnly: opts.SecretOnly})
		}
	} else {
		file := opts.File
		if file == "" {
			file = identity.DefaultBackupName(opts.Name, opts.Now())
		}
		res, err = identity.BackupToFile(ctx, svc, store, opts.Name, file, o)
	}
	prog.Done()
	if err != nil {
		return err
	}
	if opts.Output.IsMachine() {
		return output.Export(opts.IO.Out, opts.Output, res)
	}
	return printBackup(summary, res)
}

func printBackup(w io.Writer, res identity.BackupResult) error {
	m := res.Manifest
	what := "data"
	if m.SecretOnly {
		what = "secret"
	}
	to := res.File
	if to == "-" {
		to = "standard output"
	}
	_, err := fmt.Fprintf(w, "backed up %s of %s on %s (%s, %s) to %s: %s, secret sha256 %s…\n",
		what, m.Pub, m.Hub, m.Identity, m.Consistency, to, byteSize(res.Bytes), m.SecretSHA256[:12])
	return err
}
