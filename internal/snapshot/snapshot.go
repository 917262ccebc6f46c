// Package snapshot owns chain snapshot files: a node's best chain written as a stream of
// blocks, and its import into another store, where every block is validated again.
package snapshot

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/wire"
)

// magic opens every snapshot file.
const magic = "chainnet-snapshot/1\n"

// ErrFormat wraps every malformed-file error.
var ErrFormat = errors.New("malformed snapshot")

// Header says which chain a snapshot holds.
type Header struct {
	GenesisHash wire.Hash
	Blocks      uint64 // after genesis
}

// Export writes blocks 1..tip of c's best chain to w and returns how many it wrote.
func Export(ctx context.Context, c *chain.Chain, w io.Writer) (uint64, error) {
	bw := bufio.NewWriter(w)
	tip := c.Tip()
	genesis, err := c.BlockByHeight(0)
	if err != nil {
		return 0, err
	}
	if _, err := bw.WriteString(magic); err != nil {
		return 0, err
	}
	gh := genesis.Hash()
	bw.Write(gh[:])
	var n [binary.MaxVarintLen64]byte
	bw.Write(n[:binary.PutUvarint(n[:], tip.Height)])
	for h := uint64(1); h <= tip.Height; h++ {
		if err := ctx.Err(); err != nil {
			return h - 1, err
		}
		b, err := c.BlockByHeight(h)
		if err != nil {
			return h - 1, fmt.Errorf("block %d: %w", h, err)
		}
		raw := b.Encode()
		bw.Write(n[:binary.PutUvarint(n[:], uint64(len(raw)))])
		if _, err := bw.Write(raw); err != nil {
			return h - 1, err
		}
	}
	return tip.Height, bw.Flush()
}

// Import reads a snapshot and processes each block through c, validating it like any block
// from a peer. It stops at the first invalid block: the store then holds the valid prefix. It
// returns the number of blocks that joined the best chain.
func Import(ctx context.Context, c *chain.Chain, r io.Reader) (uint64, error) {
	br := bufio.NewReader(r)
	hdr := make([]byte, len(magic))
	if _, err := io.ReadFull(br, hdr); err != nil || string(hdr) != magic {
		return 0, fmt.Errorf("%w: not a chainnet snapshot", ErrFormat)
	}
	var gh wire.Hash
	if _, err := io.ReadFull(br, gh[:]); err != nil {
		return 0, fmt.Errorf("%w: genesis hash: %v", ErrFormat, err)
	}
	if want := c.Params().GenesisHash; gh != want {
		return 0, fmt.Errorf("snapshot of genesis %s, this chain's genesis is %s: %w", gh, want, chain.ErrWrongNetwork)
	}
	count, err := binary.ReadUvarint(br)
	if err != nil {
		return 0, fmt.Errorf("%w: block count: %v", ErrFormat, err)
	}
	var connected uint64
	for i := uint64(1); i <= count; i++ {
		if err := ctx.Err(); err != nil {
			return connected, err
		}
		size, err := binary.ReadUvarint(br)
		if err != nil || size > wire.MaxBlockPayload {
			return connected, fmt.Errorf("%w: block %d: size %d: %v", ErrFormat, i, size, err)
		}
		raw := make([]byte, size)
		if _, err := io.ReadFull(br, raw); err != nil {
			return connected, fmt.Errorf("%w: block %d: %v", ErrFormat, i, err)
		}
		b, err := wire.DecodeBlock(raw)
		if err != nil {
			return connected, fmt.Errorf("%w: block %d: %w", ErrFormat, i, err)
		}
		res, err := c.ProcessBlock(ctx, b)
		if err != nil {
			return connected, fmt.Errorf("block %d (%s): %w", i, b.Hash(), err)
		}
		if res.Status == chain.StatusConnected {
			connected++
		}
	}
	return connected, nil
}
