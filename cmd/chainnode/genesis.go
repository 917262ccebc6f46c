package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sigs.k8s.io/yaml"

	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
)

func newGenesisCommand() *cobra.Command {
	f := &genesis.File{Consensus: genesis.DefaultConsensus()}
	var (
		out        string
		membership string
		allocs     []string
		orgFiles   []string
		policy     governance.Policy
		force      bool
	)
	cmd := &cobra.Command{
		Use:   "genesis",
		Short: "Write a genesis file",
		Long:  "Write a genesis file. Every node of a network must use the same file: its hash is the network's identity.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.Membership = genesis.Membership(membership)
			if f.Timestamp == 0 {
				f.Timestamp = uint64(time.Now().Unix())
			}
			if f.ChainID == 0 {
				id, err := genesis.NewChainID()
				if err != nil {
					return err
				}
				f.ChainID = id
			}
			for _, a := range allocs {
				addr, amount, ok := strings.Cut(a, "=")
				n, err := strconv.ParseUint(amount, 10, 64)
				if !ok || err != nil {
					return fmt.Errorf("alloc %q: want ADDRESS=AMOUNT", a)
				}
				f.Alloc = append(f.Alloc, genesis.Alloc{Address: addr, Balance: n})
			}
			if !cmd.Flags().Changed("min-difficulty") {
				f.Consensus.MinDifficulty = max(1, f.Consensus.InitialDifficulty>>10)
			}
			for _, path := range orgFiles {
				org, err := loadOrganization(path)
				if err != nil {
					return err
				}
				f.Organizations = append(f.Organizations, org)
			}
			if f.Membership.Permissioned() {
				p := policy.WithDefaults()
				f.Governance = &p
			}
			if err := f.Validate(); err != nil {
				return err
			}
			b, err := f.Marshal()
			if err != nil {
				return err
			}
			hash, _ := f.Hash()
			if out == "-" {
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("%s exists: a new genesis makes a new network; pass --force to overwrite", out)
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return fmt.Errorf("write genesis: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (genesis hash %s)\n", out, hash)
			return nil
		},
	}
	fl := cmd.Flags()
	c := &f.Consensus
	fl.StringVar(&out, "out", "genesis.json", "output file, - for stdout")
	fl.BoolVar(&force, "force", false, "overwrite an existing file")
	fl.StringVar(&f.NetworkID, "network-id", "devnet", "network name (lower-case letters, digits, '.', '-')")
	fl.Uint64Var(&f.ChainID, "chain-id", 0, "chain id signed into every transaction (replay protection); default: a random one, so that no two networks share it")
	fl.Uint64Var(&f.Timestamp, "timestamp", 0, "genesis time, Unix seconds (default now)")
	fl.StringVar(&membership, "membership", "public", "public, consortium or private")
	fl.Uint64Var(&c.TargetBlockTimeSeconds, "target-block-time", c.TargetBlockTimeSeconds, "target seconds between blocks")
	fl.Uint64Var(&c.InitialDifficulty, "initial-difficulty", c.InitialDifficulty, "expected hashes per block at genesis")
	fl.Uint64Var(&c.MinDifficulty, "min-difficulty", c.MinDifficulty, "lowest difficulty retargeting may reach (default initial-difficulty/1024; at least initial-difficulty/65536)")
	fl.Uint64Var(&c.BlockReward, "block-reward", c.BlockReward, "coinbase reward before halvings, base units")
	fl.Uint64Var(&c.HalvingInterval, "halving-interval", c.HalvingInterval, "blocks between reward halvings")
	fl.Uint64Var(&c.MaxBlockSize, "max-block-size", c.MaxBlockSize, "maximum encoded block size, bytes")
	fl.Uint64Var(&c.DifficultyWindow, "difficulty-window", c.DifficultyWindow, "blocks averaged by the LWMA retarget")
	fl.Uint64Var(&c.MaxFutureBlockTimeSeconds, "max-future-block-time", c.MaxFutureBlockTimeSeconds, "seconds a block timestamp may lead local time")
	fl.StringArrayVar(&allocs, "alloc", nil, "initial balance ADDRESS=AMOUNT (repeatable)")
	fl.StringArrayVar(&orgFiles, "organization", nil, "founding organization of a permissioned network: a JSON or YAML file {name, adminKey, validators, observers, miners} of public keys (repeatable; `chainctl gov join-request` writes one)")
	fl.StringVar((*string)(&policy.Threshold), "threshold", "majority", "approvals a membership change needs: majority, all, or a number of organizations")
	fl.Uint64Var(&policy.ProposalTTLBlocks, "proposal-ttl", governance.DefaultPolicy().ProposalTTLBlocks, "blocks a proposal stays open")
	fl.Uint64Var(&policy.ActivationDelayBlocks, "activation-delay", 0, "blocks between a change's approval and its effect")
	return cmd
}

// loadOrganization reads an organization's public identity (JSON or YAML).
func loadOrganization(path string) (governance.Organization, error) {
	var org governance.Organization
	b, err := os.ReadFile(path)
	if err != nil {
		return org, fmt.Errorf("organization: %w", err)
	}
	if err := yaml.UnmarshalStrict(b, &org); err != nil {
		return org, fmt.Errorf("organization %s: %w", path, err)
	}
	return org, nil
}
