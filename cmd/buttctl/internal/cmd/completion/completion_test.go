package completion

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmdutil"
	"github.com/buttctl/buttctl/cmd/buttctl/internal/iostreams"
)

func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash": "# bash completion V2 for buttctl",
		"zsh":  "#compdef buttctl",
		"fish": "complete -c buttctl",
	} {
		ios, _, out, _ := iostreams.Test()
		f := &cmdutil.Factory{IOStreams: ios}
		root := &cobra.Command{Use: "buttctl"}
		root.AddCommand(NewCmdCompletion(f))
		root.SetArgs([]string{"completion", shell})
		if err := root.Execute(); err != nil {
			t.Fatalf("%s: %v", shell, err)
		}
		if !strings.Contains(out.String(), marker) {
			t.Errorf("%s script lacks %q:\n%.200s", shell, marker, out.String())
		}
	}
}

func TestCompletionRefusesOtherShells(t *testing.T) {
	for _, args := range [][]string{{"completion", "powershell"}, {"completion"}, {"completion", "bash", "zsh"}} {
		ios, _, _, _ := iostreams.Test()
		root := &cobra.Command{Use: "buttctl", SilenceErrors: true, SilenceUsage: true}
		root.AddCommand(NewCmdCompletion(&cmdutil.Factory{IOStreams: ios}))
		root.SetArgs(args)
		if err := root.Execute(); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
