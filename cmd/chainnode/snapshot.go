package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/snapshot"
	"github.com/chainnet/chainnet/internal/store"
)

func init() { extraCommands = append(extraCommands, newExportCommand, newImportCommand) }

// openChain opens a stopped node's store (a running node holds its lock).
func openChain(dataDir, genesisPath string) (*store.DB, *chain.Chain, error) {
	if genesisPath == "" {
		genesisPath = filepath.Join(dataDir, "genesis.json")
	}
	f, err := genesis.Load(genesisPath)
	if err != nil {
		return nil, nil, err
	}
	params, err := f.Params()
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(dataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (stop the node first)", err)
	}
	c, err := chain.New(db, params, chain.Options{})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, c, nil
}

func newExportCommand() *cobra.Command {
	var dataDir, genesisPath, out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a stopped node's best chain to a snapshot file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, c, err := openChain(dataDir, genesisPath)
			if err != nil {
				return err
			}
			defer db.Close()
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			n, err := snapshot.Export(cmd.Context(), c, f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %d blocks to %s\n", n, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "store directory of the (stopped) node")
	cmd.Flags().StringVar(&genesisPath, "genesis", "", "genesis file (default <data-dir>/genesis.json)")
	cmd.Flags().StringVar(&out, "out", "chain.snapshot", "snapshot file to write")
	_ = cmd.MarkFlagRequired("data-dir")
	return cmd
}

func newImportCommand() *cobra.Command {
	var dataDir, genesisPath, in string
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Bootstrap a node's store from a snapshot file, validating every block",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, c, err := openChain(dataDir, genesisPath)
			if err != nil {
				return err
			}
			defer db.Close()
			f, err := os.Open(in)
			if err != nil {
				return err
			}
			defer f.Close()
			n, err := snapshot.Import(cmd.Context(), c, f)
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d blocks; tip %d %s\n", n, c.Tip().Height, c.Tip().Hash)
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "store directory (created if missing)")
	cmd.Flags().StringVar(&genesisPath, "genesis", "", "genesis file (default <data-dir>/genesis.json)")
	cmd.Flags().StringVar(&in, "in", "chain.snapshot", "snapshot file to read")
	_ = cmd.MarkFlagRequired("data-dir")
	return cmd
}
