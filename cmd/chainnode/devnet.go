package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/chainnet/chainnet/internal/devnet"
)

func init() { extraCommands = append(extraCommands, newDevnetCommand) }

func newDevnetCommand() *cobra.Command {
	spec := devnet.Spec{}
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Run a local network of chainnode processes",
		Long: "Run a local network of real chainnode processes on 127.0.0.1 with a shared genesis (and permission file), " +
			"writing DIR/devnet.json. Validators mine; observers do not. Ctrl-C stops every node cleanly; " +
			"running it again on the same DIR resumes the same chain. `chainctl --devnet DIR status` shows the nodes.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, resumed, err := devnet.Prepare(spec)
			if err != nil {
				return err
			}
			if resumed {
				fmt.Fprintf(cmd.OutOrStdout(), "resuming the devnet in %s (flags other than --dir and --miner-threads are ignored)\n", spec.Dir)
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			return devnet.Run(cmd.Context(), self, spec.Dir, m, spec.MinerThreads, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.Dir, "dir", ".devnet/net", "devnet directory")
	f.IntVar(&spec.Nodes, "nodes", 4, "validators (they mine)")
	f.IntVar(&spec.Observers, "observers", 0, "observers (non-mining nodes)")
	f.StringVar(&spec.Membership, "membership", "public", "public, consortium or private")
	f.IntVar(&spec.Orgs, "orgs", 1, "organizations (consortium and private networks)")
	f.IntVar(&spec.MinerThreads, "miner-threads", 1, "mining threads per validator")
	f.IntVar(&spec.BlockTime, "block-time", 5, "target block time in seconds")
	return cmd
}
