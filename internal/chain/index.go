package chain

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"

	"github.com/chainnet/chainnet/internal/pow"
	"github.com/chainnet/chainnet/internal/wire"
)

// nodeStatus is what is known of a block in the index.
type nodeStatus uint8

const (
	// statusStored: the block is stored and not known to be invalid (best chain or side chain).
	statusStored nodeStatus = 1
	// statusInvalid: the block, or an ancestor, broke a rule when connected. Kept so that we never
	// download or validate it again.
	statusInvalid nodeStatus = 2
)

// blockNode is the in-memory index entry of a stored block. The whole index lives in memory
// (about 200 bytes a block), loaded from the index bucket at start.
type blockNode struct {
	hash   wire.Hash
	header wire.Header
	height uint64
	work   *big.Int // cumulative, including this block
	parent *blockNode
	status nodeStatus
}

func newNode(h wire.Header, parent *blockNode) *blockNode {
	n := &blockNode{hash: h.Hash(), header: h, parent: parent, status: statusStored}
	work := pow.WorkForBits(h.Bits)
	if parent != nil {
		n.height = parent.height + 1
		work.Add(work, parent.work)
	}
	n.work = work
	return n
}

// medianTimeSpan is how many blocks medianTimePast reads.
const medianTimeSpan = 11

// medianTimePast is the median timestamp of the last 11 blocks ending at n. A child's timestamp
// must exceed it: a single miner's clock cannot drag time backwards.
func (n *blockNode) medianTimePast() uint64 {
	times := make([]uint64, 0, medianTimeSpan)
	for it := n; it != nil && len(times) < medianTimeSpan; it = it.parent {
		times = append(times, it.header.Timestamp)
	}
	slices.Sort(times)
	return times[len(times)/2]
}

// retargetWindow returns up to window+1 blocks ending at n, oldest first, for pow.NextBits.
func (n *blockNode) retargetWindow(window int) []pow.BlockInfo {
	infos := make([]pow.BlockInfo, 0, window+1)
	for it := n; it != nil && len(infos) < window+1; it = it.parent {
		infos = append(infos, pow.BlockInfo{Timestamp: it.header.Timestamp, Bits: it.header.Bits})
	}
	slices.Reverse(infos)
	return infos
}

// Index entry encoding: header (88) | height u64 | status u8 | work length u8 | work bytes.
func encodeIndexEntry(n *blockNode) []byte {
	work := n.work.Bytes()
	out := make([]byte, 0, wire.HeaderSize+8+1+1+len(work))
	out = append(out, n.header.Encode()...)
	out = binary.BigEndian.AppendUint64(out, n.height)
	out = append(out, byte(n.status), byte(len(work)))
	return append(out, work...)
}

type indexEntry struct {
	header wire.Header
	height uint64
	status nodeStatus
	work   *big.Int
}

func decodeIndexEntry(b []byte) (indexEntry, error) {
	var e indexEntry
	if len(b) < wire.HeaderSize+10 {
		return e, fmt.Errorf("index entry: %d bytes", len(b))
	}
	h, err := wire.DecodeHeader(b[:wire.HeaderSize])
	if err != nil {
		return e, fmt.Errorf("index entry: %w", err)
	}
	rest := b[wire.HeaderSize:]
	e.header = h
	e.height = binary.BigEndian.Uint64(rest)
	e.status = nodeStatus(rest[8])
	wl := int(rest[9])
	if len(rest) != 10+wl {
		return e, fmt.Errorf("index entry: work length %d, %d bytes left", wl, len(rest)-10)
	}
	e.work = new(big.Int).SetBytes(rest[10:])
	return e, nil
}

func heightKey(h uint64) []byte { return binary.BigEndian.AppendUint64(nil, h) }
