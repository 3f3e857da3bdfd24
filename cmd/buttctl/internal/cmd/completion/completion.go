// Package completion implements `buttctl completion bash|zsh|fish`.
package completion

import (
	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
)

// NewCmdCompletion builds `buttctl completion SHELL`.
func NewCmdCompletion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print a completion script for your shell. For example:

  source <(buttctl completion bash)
  buttctl completion zsh > "${fpath[1]}/_buttctl"
  buttctl completion fish > ~/.config/fish/completions/buttctl.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.ExactArgs(1)(cmd, args); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			if err := cobra.OnlyValidArgs(cmd, args); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := f.IOStreams.Out
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			default:
				return root.GenFishCompletion(out, true)
			}
		},
	}
}
