// Command chainctl is the user's CLI against a chainnet node: keys, transfers, status, blocks and
// balances. Output is for people by default and JSON with -o json.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root := newRootCommand()
	// Installed as kubectl-chainnet, chainctl is the kubectl plugin: `kubectl chainnet ARGS` runs
	// `chainctl network ARGS`.
	if strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") == "kubectl-chainnet" {
		root.SetArgs(append([]string{"network"}, os.Args[1:]...))
	}
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "chainctl:", err)
		os.Exit(1)
	}
}

// globals are the flags every command shares.
type globals struct {
	node   string
	output string
	devnet string // a devnet directory: status covers all its nodes
}

func newRootCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "chainctl",
		Short:         "Command-line client for chainnet nodes",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if g.output != "text" && g.output != "json" {
				return fmt.Errorf("-o %q: must be text or json", g.output)
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.node, "node", envOr("CHAINCTL_NODE", "http://127.0.0.1:8545"), "node API URL (env CHAINCTL_NODE)")
	pf.StringVarP(&g.output, "output", "o", "text", "output: text or json")
	pf.StringVar(&g.devnet, "devnet", "", "a `chainnode devnet` directory: status shows every node of it")
	root.AddCommand(newKeysCommand(g), newSendCommand(g), newStatusCommand(g), newBlockCommand(g), newBalanceCommand(g))
	for _, mk := range extraCommands {
		root.AddCommand(mk(g))
	}
	return root
}

// extraCommands lets other files add commands (e.g. devnet status) without editing the root.
var extraCommands []func(*globals) *cobra.Command

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}
