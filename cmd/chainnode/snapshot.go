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

// snapshotCommand builds export and import: both open a stopped node's store and run fn on its
// chain with the snapshot file's path.
func snapshotCommand(use, short, fileFlag, fileHelp string, fn func(cmd *cobra.Command, c *chain.Chain, path string) error) *cobra.Command {
	var dataDir, genesisPath, file string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, c, err := openChain(dataDir, genesisPath)
			if err != nil {
				return err
			}
			defer db.Close()
			return fn(cmd, c, file)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "store directory of the (stopped) node")
	cmd.Flags().StringVar(&genesisPath, "genesis", "", "genesis file (default <data-dir>/genesis.json)")
	cmd.Flags().StringVar(&file, fileFlag, "chain.snapshot", fileHelp)
	_ = cmd.MarkFlagRequired("data-dir")
	return cmd
}

func newExportCommand() *cobra.Command {
	return snapshotCommand("export", "Write a stopped node's best chain to a snapshot file", "out", "snapshot file to write",
		func(cmd *cobra.Command, c *chain.Chain, path string) error {
			f, err := os.Create(path)
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
			fmt.Fprintf(cmd.OutOrStdout(), "exported %d blocks to %s\n", n, path)
			return nil
		})
}

func newImportCommand() *cobra.Command {
	return snapshotCommand("import", "Bootstrap a node's store from a snapshot file, validating every block", "in", "snapshot file to read",
		func(cmd *cobra.Command, c *chain.Chain, path string) error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			n, err := snapshot.Import(cmd.Context(), c, f)
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d blocks; tip %d %s\n", n, c.Tip().Height, c.Tip().Hash)
			return err
		})
}
