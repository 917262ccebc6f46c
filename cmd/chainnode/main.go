// Command chainnode is the chainnet node: a proof-of-work miner and validator with an HTTP API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/chainnet/chainnet/internal/store"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

// extraCommands lets other files of this package add commands (devnet) without editing the root.
var extraCommands []func() *cobra.Command

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "chainnode:", err)
		os.Exit(exitCode(err))
	}
}

// ExitCorruptStore is chainnode's exit status when its store cannot be read: restarting cannot
// help, and the operator re-seeds such a node (a fresh volume, synced from peers).
const ExitCorruptStore = 3

func exitCode(err error) int {
	if errors.Is(err, store.ErrCorrupt) {
		return ExitCorruptStore
	}
	return 1
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "chainnode",
		Short:         "chainnet proof-of-work node",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCommand(), newGenesisCommand(), newKeygenCommand(), newVersionCommand())
	for _, mk := range extraCommands {
		root.AddCommand(mk())
	}
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "chainnode %s %s/%s %s\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
		},
	}
}

// newLogger builds the structured logger: text for people, JSON for log pipelines.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log-format %q: must be text or json", format)
}
