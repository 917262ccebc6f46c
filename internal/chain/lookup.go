package chain

import (
	"fmt"

	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// BlockBytes returns a stored block's encoding as stored, so that it can be served to a peer
// without decoding it.
func (c *Chain) BlockBytes(h wire.Hash) ([]byte, error) {
	var raw []byte
	err := c.db.View(func(tx *store.Tx) error {
		raw = tx.Get(store.BucketBlocks, h[:]) // a copy
		return nil
	})
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("block %s: %w", h, ErrNotFound)
	}
	return raw, nil
}

// HasTx reports whether a transaction is mined on the best chain. It reads the transaction index
// only, never the block: an announcement of a mined transaction costs one lookup.
func (c *Chain) HasTx(id wire.Hash) bool {
	found := false
	_ = c.db.View(func(tx *store.Tx) error {
		found = len(tx.Get(store.BucketTxIndex, id[:])) == wire.HashSize+4
		return nil
	})
	return found
}
