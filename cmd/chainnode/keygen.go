package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/chainnet/chainnet/internal/keys"
)

func newKeygenCommand() *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Generate an ed25519 key file (node identity or miner key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("%s exists: overwriting a key changes an identity; pass --force", out)
			}
			k, err := keys.Generate()
			if err != nil {
				return err
			}
			if err := keys.Save(out, k); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\npublic key (nodeId): %s\naddress: %s\n", out, k.NodeID(), k.Address())
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "key.json", "output key file")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}
