package pow

import (
	"math/big"
)

// Retargeting: per-block LWMA (linearly weighted moving average, Zawy's LWMA-1, as used by
// several PoW chains since 2018).
//
// Why LWMA and not Bitcoin's 2016-block windows: our networks are small and often start with a
// guessed difficulty, and hash rate jumps when a node joins or leaves. Bitcoin's window would take
// 2016 blocks to react and could then swing 4×; LWMA reacts every block, weighting recent solve
// times most.
//
//	next = avg(target over the last N blocks) × Σ(i·solvetime_i) / (T · N(N+1)/2)
//
// Solve times are measured on a monotonic timeline, not between raw parent and child timestamps:
// the timeline starts at the window's first timestamp and each block moves it to its own timestamp,
// at least 1 s and at most 6T forward. A block stamped ahead of the clock therefore counts at most
// 6T, the honest blocks after it count from where the timeline stood (1 s each while they are
// behind it) and the lead it did not get counted is counted by the blocks after it: the weighted
// sum telescopes to the real elapsed time instead of ratcheting down. With the parent-to-child
// clamp [1 s, 6T] used before, 20 % of blocks stamped 70–120 s ahead drove a 10 s target to 1.2 s
// blocks; with this timeline they move it by less than 2 % (TestRetargetResistsTimestampSkew).
//
// The result is then clamped to within a factor of MaxAdjust of the parent's target in one step,
// and never above the network's easiest target (its minimum difficulty).

// MaxAdjust bounds the change of the target in one block (×2 easier or ÷2 harder).
const MaxAdjust = 2

// solveTimeClampFactor bounds one solve time at this multiple of the target block time.
const solveTimeClampFactor = 6

// BlockInfo is what retargeting needs of a past block.
type BlockInfo struct {
	Timestamp uint64
	Bits      uint32
}

// NextTarget computes the target for the block after window[len-1]. window holds the most recent
// blocks in height order, at most N+1 of them (the extra one provides the first solve time).
// With fewer than two blocks the parent's target is kept.
func NextTarget(window []BlockInfo, targetBlockTime uint64, limit *big.Int) *big.Int {
	parentTarget := CompactToBig(window[len(window)-1].Bits)
	if len(window) < 2 || targetBlockTime == 0 {
		return parentTarget
	}
	n := int64(len(window) - 1)
	maxSolve := int64(solveTimeClampFactor * targetBlockTime)
	weighted := new(big.Int)
	sumTargets := new(big.Int)
	timeline := int64(window[0].Timestamp)
	for i := int64(1); i <= n; i++ {
		stamp := min(max(int64(window[i].Timestamp), timeline+1), timeline+maxSolve)
		solve := stamp - timeline
		timeline = stamp
		weighted.Add(weighted, big.NewInt(i*solve))
		sumTargets.Add(sumTargets, CompactToBig(window[i].Bits))
	}
	// next = sumTargets/n × weighted / (T × n(n+1)/2) = sumTargets × weighted × 2 / (n² (n+1) T)
	next := new(big.Int).Mul(sumTargets, weighted)
	next.Lsh(next, 1)
	next.Div(next, big.NewInt(n*n*(n+1)*int64(targetBlockTime)))

	upper := new(big.Int).Mul(parentTarget, big.NewInt(MaxAdjust))
	lower := new(big.Int).Div(parentTarget, big.NewInt(MaxAdjust))
	switch {
	case next.Cmp(upper) > 0:
		next = upper
	case next.Cmp(lower) < 0:
		next = lower
	}
	if next.Cmp(limit) > 0 {
		next = new(big.Int).Set(limit)
	}
	if next.Sign() <= 0 {
		next = big.NewInt(1)
	}
	return next
}

// NextBits is NextTarget in compact form.
func NextBits(window []BlockInfo, targetBlockTime uint64, limit *big.Int) uint32 {
	return BigToCompact(NextTarget(window, targetBlockTime, limit))
}
