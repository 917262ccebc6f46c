package pow

import (
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// skewSimulation mines blocks against NextBits at a constant hash rate and returns the mean real
// interval between blocks after a warm-up. A fraction of the blocks comes from a miner that
// stamps its timestamps `lead` (a function of the random source) seconds ahead of real time;
// honest blocks are stamped with real time. Every block obeys the rules the chain enforces on
// timestamps: above the median of the last 11, at most maxFuture ahead of real time.
type skewSimulation struct {
	targetBlockTime uint64
	window          int
	maxFuture       uint64
	skewedFraction  float64
	lead            func(*rand.Rand) int64 // seconds ahead of real time (negative: behind)
}

func (s skewSimulation) meanInterval(blocks, warmup int, seed uint64) float64 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	const hashRate = 1e6 // hashes per second
	expectedHashes := func(bits uint32) float64 {
		w, _ := new(big.Float).SetInt(WorkForBits(bits)).Float64()
		return w
	}
	start := BigToCompact(TargetForDifficulty(uint64(hashRate) * s.targetBlockTime))
	chain := []BlockInfo{{Timestamp: 1_700_000_000, Bits: start}}
	now := float64(chain[0].Timestamp)
	var measured float64
	for i := 0; i < blocks; i++ {
		bits := NextBits(chain[max(0, len(chain)-s.window-1):], s.targetBlockTime, MaxTarget)
		solve := rng.ExpFloat64() * expectedHashes(bits) / hashRate
		now += solve
		stamp := int64(now)
		if rng.Float64() < s.skewedFraction {
			stamp += s.lead(rng)
		}
		stamp = min(stamp, int64(now)+int64(s.maxFuture))
		if mtp := int64(medianOfLast11(chain)); stamp <= mtp {
			stamp = mtp + 1
		}
		chain = append(chain, BlockInfo{Timestamp: uint64(stamp), Bits: bits})
		if i >= warmup {
			measured += solve
		}
	}
	return measured / float64(blocks-warmup)
}

func medianOfLast11(chain []BlockInfo) uint64 {
	last := chain[max(0, len(chain)-11):]
	times := make([]uint64, len(last))
	for i, b := range last {
		times[i] = b.Timestamp
	}
	slices.Sort(times)
	return times[len(times)/2]
}

// TestRetargetResistsTimestampSkew: a miner producing 20 % of the blocks, stamping them 70–120 s
// ahead (the most the future limit lets through), or as far back as the median rule allows, moves
// the mean block interval by less than 10 % from the same network without it, measured in the
// same run with the same random solve times. With the previous retarget (solve times between
// parent and child clamped to [1 s, 6T]) the forward case gave 1.2 s blocks for a 10 s target.
func TestRetargetResistsTimestampSkew(t *testing.T) {
	const blocks, warmup = 8000, 500
	seeds := []uint64{1, 2}
	base := skewSimulation{targetBlockTime: 10, window: 45, maxFuture: 120}
	mean := func(s skewSimulation) float64 {
		var sum float64
		for _, seed := range seeds {
			sum += s.meanInterval(blocks, warmup, seed)
		}
		return sum / float64(len(seeds))
	}
	honest := mean(base)
	if honest < 9 || honest > 11 {
		t.Fatalf("honest network: mean interval %.2f s for a 10 s target", honest)
	}
	cases := []struct {
		name string
		lead func(*rand.Rand) int64
	}{
		{"forward 70-120s", func(r *rand.Rand) int64 { return 70 + r.Int64N(51) }},
		{"forward to the limit", func(*rand.Rand) int64 { return 120 }},
		{"backward to the median", func(*rand.Rand) int64 { return -1 << 40 }},
	}
	for _, c := range cases {
		for _, fraction := range []float64{0.1, 0.2} {
			s := base
			s.skewedFraction, s.lead = fraction, c.lead
			got := mean(s)
			ratio := got / honest
			t.Logf("%s, %.0f%% of blocks: mean interval %.2f s, %.3f× the honest %.2f s", c.name, fraction*100, got, ratio, honest)
			if ratio < 0.9 || ratio > 1.1 {
				t.Errorf("%s, %.0f%% of blocks: mean interval %.2f s is %.3f× the honest network's", c.name, fraction*100, got, ratio)
			}
		}
	}
}
