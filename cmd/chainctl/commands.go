package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

// print writes v as JSON, or calls text for people.
func (g *globals) print(w io.Writer, v any, text func(io.Writer)) error {
	if g.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(w)
	return nil
}

func newKeysCommand(g *globals) *cobra.Command {
	keysCmd := &cobra.Command{Use: "keys", Short: "Create and show ed25519 keys"}
	var out string
	var force bool
	newCmd := &cobra.Command{
		Use:   "new",
		Short: "Create a key file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("%s exists; pass --force to overwrite it (the old key is lost)", out)
			}
			k, err := keys.Generate()
			if err != nil {
				return err
			}
			if err := keys.Save(out, k); err != nil {
				return err
			}
			return showKey(cmd, g, out, k)
		},
	}
	newCmd.Flags().StringVar(&out, "out", "key.json", "key file to write")
	newCmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	showCmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Show a key file's public key and address",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := keys.Load(args[0])
			if err != nil {
				return err
			}
			return showKey(cmd, g, args[0], k)
		},
	}
	keysCmd.AddCommand(newCmd, showCmd)
	return keysCmd
}

func showKey(cmd *cobra.Command, g *globals, path string, k *keys.Key) error {
	v := map[string]string{"file": path, "publicKey": k.NodeID(), "address": k.Address()}
	return g.print(cmd.OutOrStdout(), v, func(w io.Writer) {
		fmt.Fprintf(w, "file:       %s\npublic key: %s\naddress:    %s\n", path, k.NodeID(), k.Address())
	})
}

// transfer is what the send commands sign (`send` and `network send` share its flags).
type transfer struct {
	to, keyFile string
	amount, fee uint64
	chainID     uint64 // the chain the user means; 0: the node's
}

func (t *transfer) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&t.to, "to", "", "recipient address")
	f.Uint64Var(&t.amount, "amount", 0, "amount, base units")
	f.Uint64Var(&t.fee, "fee", 1, "fee paid to the miner, base units")
	f.StringVar(&t.keyFile, "key", "", "sender's key file")
	f.Uint64Var(&t.chainID, "chain-id", 0, "the chain id to sign for; the transfer is refused if the node reports another (default: the node's)")
	for _, req := range []string{"to", "amount", "key"} {
		_ = cmd.MarkFlagRequired(req)
	}
}

func newSendCommand(g *globals) *cobra.Command {
	var t transfer
	cmd := &cobra.Command{
		Use:   "send --to ADDRESS --amount N --key FILE",
		Short: "Sign and send a transfer",
		Long:  "Sign and send a transfer. The nonce is the sender's next, read from the node (plus its pending transactions are not counted: send one at a time or wait for inclusion).",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return sendTransfer(cmd, g, g.client(), t)
		},
	}
	t.addFlags(cmd)
	return cmd
}

// sendTransfer signs t with its key, the nonce read from the node c talks to, and submits it
// there.
func sendTransfer(cmd *cobra.Command, g *globals, c *client, t transfer) error {
	k, err := keys.Load(t.keyFile)
	if err != nil {
		return err
	}
	dest, err := keys.ParseAddress(t.to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	var st api.Status
	if err := c.do(cmd.Context(), "GET", "/v1/status", nil, &st); err != nil {
		return err
	}
	if err := checkChainID(st, t.chainID); err != nil {
		return err
	}
	var acct api.Account
	if err := c.do(cmd.Context(), "GET", "/v1/accounts/"+k.Address(), nil, &acct); err != nil {
		return err
	}
	// After the account's transactions still in the node's mempool: a second send before the first
	// is mined must not replace it.
	tx := &wire.Tx{Type: wire.TxTransfer, ChainID: st.ChainID, To: dest, Amount: t.amount, Fee: t.fee, Nonce: max(acct.Nonce, acct.PendingNonce)}
	tx.Sign(k)
	var res api.SubmitResult
	if err := c.do(cmd.Context(), "POST", "/v1/transactions", api.TxFromWire(tx), &res); err != nil {
		return err
	}
	return g.print(cmd.OutOrStdout(), res, func(w io.Writer) {
		fmt.Fprintf(w, "sent %d from %s to %s (fee %d, nonce %d)\ntransaction %s\n", t.amount, k.Address(), dest, t.fee, tx.Nonce, res.ID)
	})
}

// checkChainID refuses to sign without a chain id from the node, or for another chain than the
// one the user named: a transfer signs its chain id, and only that keeps it from being replayed
// on another network.
func checkChainID(st api.Status, want uint64) error {
	switch {
	case st.ChainID == 0:
		return fmt.Errorf("the node (network %q) reports no chain id: refusing to sign a transfer any network could replay", st.NetworkID)
	case want != 0 && st.ChainID != want:
		return fmt.Errorf("the node is on network %q with chain id %d, not %d: refusing to sign", st.NetworkID, st.ChainID, want)
	}
	return nil
}

func newStatusCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show a node's status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.devnet != "" {
				return devnetStatus(cmd.Context(), g, cmd.OutOrStdout())
			}
			var st api.Status
			if err := g.client().do(cmd.Context(), "GET", "/v1/status", nil, &st); err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), st, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				rows := [][2]string{
					{"network", fmt.Sprintf("%s (chain id %d)", st.NetworkID, st.ChainID)},
					{"node", fmt.Sprintf("%s (%s)", st.NodeID, st.Role)},
					{"height", fmt.Sprint(st.Height)},
					{"best hash", st.BestHash},
					{"difficulty", fmt.Sprintf("%.0f", st.Difficulty)},
					{"peers", fmt.Sprint(st.Peers)},
					{"hash rate", fmt.Sprintf("%.2f MH/s", st.Hashrate/1e6)},
					{"mempool", fmt.Sprintf("%d txs", st.MempoolSize)},
					{"syncing", fmt.Sprint(st.Syncing)},
				}
				for _, r := range rows {
					fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
				}
				tw.Flush()
			})
		},
	}
}

func newBlockCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "block HEIGHT|HASH",
		Short: "Show a block",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var b api.Block
			if err := g.client().do(cmd.Context(), "GET", "/v1/blocks/"+args[0], nil, &b); err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), b, func(w io.Writer) {
				fmt.Fprintf(w, "block %d  %s\nparent     %s\ntime       %d\nbits       %s  nonce %d\nminer      %s\nsize       %d bytes, %d transactions\n",
					b.Height, b.Hash, b.PrevHash, b.Timestamp, b.Bits, b.Nonce, b.Miner, b.Size, len(b.Txs))
				for _, tx := range b.Txs {
					fmt.Fprintf(w, "  %s  %-8s to %s  amount %d  fee %d\n", tx.ID, tx.Type, tx.To, tx.Amount, tx.Fee)
				}
			})
		},
	}
}

func newBalanceCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "balance ADDRESS|KEYFILE",
		Short: "Show an account's balance and nonce",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr := args[0]
			if _, err := keys.ParseAddress(addr); err != nil {
				k, kerr := keys.Load(addr)
				if kerr != nil {
					return errors.Join(fmt.Errorf("not an address: %w", err), kerr)
				}
				addr = k.Address()
			}
			var a api.Account
			if err := g.client().do(cmd.Context(), "GET", "/v1/accounts/"+addr, nil, &a); err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), a, func(w io.Writer) {
				fmt.Fprintf(w, "%s  balance %d  nonce %d\n", a.Address, a.Balance, a.Nonce)
			})
		},
	}
}
