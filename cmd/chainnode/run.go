package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/chainnet/chainnet/internal/config"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/p2p"
)

// envPrefix is the prefix of the environment variables that set run's flags.
const envPrefix = "CHAINNODE"

func newRunCommand() *cobra.Command {
	var (
		cfg        node.Config
		configFile string
		logFormat  string
		logLevel   string
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a node",
		Long: "Run a node. Every flag can also be set by an environment variable CHAINNODE_<FLAG> " +
			"(e.g. CHAINNODE_API_ADDR) or by a YAML/JSON file given with --config whose keys are the flag names. " +
			"Precedence: flag, environment, file, default.",
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if v, ok := lookupEnv(envPrefix, "config"); ok && !cmd.Flags().Changed("config") {
				configFile = v
			}
			return config.Apply(cmd.Flags(), envPrefix, configFile)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cmd.ErrOrStderr(), logFormat, logLevel)
			if err != nil {
				return err
			}
			cfg.Logger, cfg.Version = log, version
			if err := startProfiler(log); err != nil {
				return err
			}
			n, err := node.New(cfg)
			if err != nil {
				return err
			}
			if err := attachNetwork(n); err != nil {
				return err
			}
			if err := n.Run(cmd.Context()); err != nil {
				return fmt.Errorf("node: %w", err)
			}
			log.Info("node stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "config file (YAML or JSON; keys are flag names)")
	f.StringVar(&cfg.DataDir, "data-dir", "", "store directory (default $HOME/.chainnode)")
	f.StringVar(&cfg.GenesisPath, "genesis", "", "genesis file (default <data-dir>/genesis.json)")
	f.StringVar(&cfg.NodeKeyPath, "node-key", "", "node identity key, created if missing (default <data-dir>/node-key.json)")
	f.StringVar(&cfg.MinerKeyPath, "miner-key", "", "miner key, created if missing (default <data-dir>/miner-key.json)")
	f.StringVar(&cfg.APIAddr, "api-addr", "127.0.0.1:8545", "HTTP API listen address (pods use 0.0.0.0:8545)")
	f.StringVar(&cfg.P2PAddr, "p2p-addr", "0.0.0.0:9333", "P2P listen address")
	f.BoolVar(&cfg.Mine, "mine", false, "mine blocks")
	f.IntVar(&cfg.MinerThreads, "miner-threads", 0, "mining threads (0: all cores)")
	f.Uint64Var(&cfg.HaltHeight, "halt-height", 0, "stop at this height: connect and mine no block above it (a scheduled upgrade; 0: never)")
	f.StringVar(&cfg.MinChainWork, "min-chain-work", "", "least cumulative work of a chain worth downloading or of a pushed block worth storing, decimal as /v1/status totalWork shows it, or 0x-hex (empty: none)")
	f.StringVar(&cfg.Role, "role", node.RoleValidator, "validator (may mine) or observer (never mines)")
	f.StringVar(&cfg.Org, "org", "", "organization name (consortium and private networks)")
	f.StringVar(&cfg.PermissionsPath, "permissions", "", "permission file (consortium and private networks; reloaded on change)")
	f.StringArrayVar(&cfg.DNSSeeds, "dns-seed", nil, "DNS name resolved for peers, e.g. a headless Service (repeatable)")
	f.StringArrayVar(&cfg.Bootstrap, "bootstrap", nil, "bootstrap peer host:port[#nodeId] (repeatable)")
	f.IntVar(&cfg.MaxOutbound, "max-outbound", 8, "target outbound connections")
	f.IntVar(&cfg.MaxInbound, "max-inbound", 117, "maximum inbound connections")
	f.StringVar(&cfg.AdvertiseAddr, "advertise-addr", "", "P2P address peers should dial, e.g. the pod's stable DNS name and port (shared in the handshake)")
	f.DurationVar(&cfg.PingInterval, "ping-interval", 30*time.Second, "P2P keepalive ping interval")
	f.DurationVar(&cfg.PeerTimeout, "peer-timeout", 90*time.Second, "disconnect a peer silent for this long (it must answer pings)")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

// attachNetwork plugs the P2P layer into the node.
func attachNetwork(n *node.Node) error {
	_, err := n.AttachP2P(p2p.Timing{})
	return err
}
