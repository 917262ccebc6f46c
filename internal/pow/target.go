package pow

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/chainnet/chainnet/internal/wire"
)

var (
	// ErrHighHash is returned when a header's hash is above its target.
	ErrHighHash = errors.New("block hash above target")
	// ErrBadTarget is returned for a compact target that is zero, negative or above the limit.
	ErrBadTarget = errors.New("invalid target")
)

var (
	bigOne = big.NewInt(1)
	// two256 is 2^256: the number of possible hashes.
	two256 = new(big.Int).Lsh(bigOne, 256)
	// MaxTarget is the easiest possible target (difficulty 1: every hash qualifies).
	MaxTarget = new(big.Int).Sub(two256, bigOne)
)

// HashToBig reads a hash as a big-endian 256-bit number.
func HashToBig(h wire.Hash) *big.Int { return new(big.Int).SetBytes(h[:]) }

// CompactToBig decodes Bitcoin's compact "bits" form: 1 byte exponent (size in bytes), 3 bytes
// mantissa with a sign bit. Negative values decode as negative.
func CompactToBig(bits uint32) *big.Int {
	mantissa := int64(bits & 0x007fffff)
	negative := bits&0x00800000 != 0
	exponent := uint(bits >> 24)
	n := big.NewInt(mantissa)
	if exponent <= 3 {
		n.Rsh(n, 8*(3-exponent))
	} else {
		n.Lsh(n, 8*(exponent-3))
	}
	if negative {
		n.Neg(n)
	}
	return n
}

// BigToCompact encodes a non-negative number in compact form, rounding down to 3 significant
// bytes. The result decodes to a value ≤ n.
func BigToCompact(n *big.Int) uint32 {
	if n.Sign() <= 0 {
		return 0
	}
	exponent := uint((n.BitLen() + 7) / 8)
	var mantissa uint32
	if exponent <= 3 {
		mantissa = uint32(n.Uint64() << (8 * (3 - exponent)))
	} else {
		mantissa = uint32(new(big.Int).Rsh(n, 8*(exponent-3)).Uint64())
	}
	// The mantissa's top bit is the sign: shift into the next byte rather than set it.
	if mantissa&0x00800000 != 0 {
		mantissa >>= 8
		exponent++
	}
	return uint32(exponent<<24) | mantissa
}

// TargetFromBits decodes and checks a compact target against the limit.
func TargetFromBits(bits uint32, limit *big.Int) (*big.Int, error) {
	t := CompactToBig(bits)
	if t.Sign() <= 0 {
		return nil, fmt.Errorf("bits %08x: %w: not positive", bits, ErrBadTarget)
	}
	if t.Cmp(limit) > 0 {
		return nil, fmt.Errorf("bits %08x: %w: above the network's easiest target", bits, ErrBadTarget)
	}
	return t, nil
}

// CheckProofOfWork verifies that hash ≤ the target encoded in bits.
func CheckProofOfWork(hash wire.Hash, bits uint32, limit *big.Int) error {
	target, err := TargetFromBits(bits, limit)
	if err != nil {
		return err
	}
	if HashToBig(hash).Cmp(target) > 0 {
		return fmt.Errorf("hash %s, target %064x: %w", hash, target, ErrHighHash)
	}
	return nil
}

// TargetForDifficulty returns the target at which a block takes difficulty hashes on average:
// 2^256/difficulty − 1, so difficulty 1 is MaxTarget.
func TargetForDifficulty(difficulty uint64) *big.Int {
	if difficulty <= 1 {
		return new(big.Int).Set(MaxTarget)
	}
	t := new(big.Int).Div(two256, new(big.Int).SetUint64(difficulty))
	return t.Sub(t, bigOne)
}

// Work is the expected number of hashes to find a block at target: 2^256 / (target+1).
func Work(target *big.Int) *big.Int {
	denom := new(big.Int).Add(target, bigOne)
	return new(big.Int).Div(two256, denom)
}

// WorkForBits is Work of a compact target; an invalid target counts as no work.
func WorkForBits(bits uint32) *big.Int {
	t := CompactToBig(bits)
	if t.Sign() <= 0 {
		return new(big.Int)
	}
	return Work(t)
}

// Difficulty is the expected hashes per block at a compact target, as a float for display.
func Difficulty(bits uint32) float64 {
	f, _ := new(big.Float).SetInt(WorkForBits(bits)).Float64()
	return f
}
