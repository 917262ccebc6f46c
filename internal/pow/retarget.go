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
// times most, and is robust against timestamp manipulation because each solve time is clamped.
//
//	next = avg(target over the last N blocks) × Σ(i·solvetime_i) / (T · N(N+1)/2)
//
// where solvetime_i is clamped to [1, 6T] (a block with a timestamp before its parent's counts as
// 1 s, so a miner cannot lower difficulty by lying about time). The result is then clamped to
// within a factor of MaxAdjust of the parent's target in one step, and never above the network's
// easiest target (its minimum difficulty).

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
	for i := int64(1); i <= n; i++ {
		solve := int64(window[i].Timestamp) - int64(window[i-1].Timestamp)
		solve = min(max(solve, 1), maxSolve)
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
