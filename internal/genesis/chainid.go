package genesis

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// maxRandomChainID keeps random chain ids exact in JSON numbers read as doubles (2^53).
const maxRandomChainID = 1<<53 - 1

// NewChainID draws a chain id for a new network. Transactions sign their chain id, so two
// networks that share one accept each other's transactions: a chain id nobody chose on purpose
// must be one nobody else has.
func NewChainID() (uint64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("chain id: %w", err)
	}
	return 1 + binary.LittleEndian.Uint64(b[:])%maxRandomChainID, nil
}
