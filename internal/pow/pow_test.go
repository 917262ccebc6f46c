package pow

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/chainnet/chainnet/internal/wire"
)

func TestCompactKnownValues(t *testing.T) {
	// Bitcoin's genesis target.
	want, _ := new(big.Int).SetString("00000000ffff0000000000000000000000000000000000000000000000000000", 16)
	if got := CompactToBig(0x1d00ffff); got.Cmp(want) != 0 {
		t.Fatalf("CompactToBig(1d00ffff) = %x", got)
	}
	if got := BigToCompact(want); got != 0x1d00ffff {
		t.Fatalf("BigToCompact = %08x", got)
	}
	// A mantissa with the sign bit set must move to the next exponent.
	if got := BigToCompact(big.NewInt(0x80)); got != 0x02008000 {
		t.Fatalf("BigToCompact(0x80) = %08x", got)
	}
	if CompactToBig(0x04923456).Cmp(big.NewInt(-0x12345600)) != 0 {
		t.Fatal("sign bit ignored")
	}
}

func TestCompactRoundTripNeverRaisesTarget(t *testing.T) {
	for d := uint64(1); d < 1<<40; d = d*3 + 1 {
		target := TargetForDifficulty(d)
		back := CompactToBig(BigToCompact(target))
		if back.Cmp(target) > 0 {
			t.Fatalf("difficulty %d: compact form raised the target", d)
		}
		if back.Sign() <= 0 {
			t.Fatalf("difficulty %d: compact form lost the target", d)
		}
	}
}

func TestCheckProofOfWork(t *testing.T) {
	limit := MaxTarget
	var low, high wire.Hash
	low[0], high[0] = 0x00, 0xff
	bits := BigToCompact(TargetForDifficulty(256)) // about 0x00ff...
	if err := CheckProofOfWork(low, bits, limit); err != nil {
		t.Fatalf("low hash rejected: %v", err)
	}
	if err := CheckProofOfWork(high, bits, limit); !errors.Is(err, ErrHighHash) {
		t.Fatalf("high hash: %v", err)
	}
	if err := CheckProofOfWork(low, 0, limit); !errors.Is(err, ErrBadTarget) {
		t.Fatalf("zero target: %v", err)
	}
	easy := TargetForDifficulty(100) // easier than difficulty 256
	if err := CheckProofOfWork(low, bits, easy); err != nil {
		t.Fatalf("harder-than-limit rejected: %v", err)
	}
	if err := CheckProofOfWork(low, BigToCompact(MaxTarget), easy); !errors.Is(err, ErrBadTarget) {
		t.Fatalf("easier-than-limit accepted: %v", err)
	}
}

func TestWorkGrowsWithDifficulty(t *testing.T) {
	w1 := Work(TargetForDifficulty(1000))
	w2 := Work(TargetForDifficulty(2000))
	if w1.Cmp(big.NewInt(1000)) != 0 || w2.Cmp(big.NewInt(2000)) != 0 {
		t.Fatalf("work %v %v, want 1000 2000", w1, w2)
	}
}

func window(n int, solve uint64, bits uint32) []BlockInfo {
	w := make([]BlockInfo, n+1)
	for i := range w {
		w[i] = BlockInfo{Timestamp: 1_000_000 + uint64(i)*solve, Bits: bits}
	}
	return w
}

func TestLWMA(t *testing.T) {
	const T = 10
	bits := BigToCompact(TargetForDifficulty(1 << 20))
	start := CompactToBig(bits)
	ratio := func(w []BlockInfo) float64 {
		f, _ := new(big.Float).Quo(new(big.Float).SetInt(NextTarget(w, T, MaxTarget)), new(big.Float).SetInt(start)).Float64()
		return f
	}
	if r := ratio(window(45, T, bits)); r < 0.99 || r > 1.01 {
		t.Errorf("on-time blocks changed the target by %.3f", r)
	}
	if r := ratio(window(45, T/2, bits)); r > 0.55 || r < 0.5 {
		t.Errorf("blocks twice as fast: target ×%.3f, want about ×0.5", r)
	}
	if r := ratio(window(45, 1, bits)); r != 0.5 {
		t.Errorf("very fast blocks: target ×%.3f, want the ×0.5 clamp", r)
	}
	if r := ratio(window(45, 100*T, bits)); r != 2 {
		t.Errorf("very slow blocks: target ×%.3f, want the ×2 clamp", r)
	}
	// Timestamps going backwards count as 1 s solve times: harder, never easier.
	back := window(45, T, bits)
	back[45].Timestamp = back[44].Timestamp - 1000
	if r := ratio(back); r >= 1 {
		t.Errorf("backwards timestamp eased the target (×%.3f)", r)
	}
	// Never easier than the network limit.
	limit := new(big.Int).Add(start, big.NewInt(1))
	if got := NextTarget(window(45, 100*T, bits), T, limit); got.Cmp(limit) != 0 {
		t.Errorf("target %x above limit %x", got, limit)
	}
	if got := NextTarget(window(0, T, bits), T, MaxTarget); got.Cmp(start) != 0 {
		t.Errorf("single block window changed the target")
	}
}

func TestHeaderHasherMatchesHeaderHash(t *testing.T) {
	h := wire.Header{Version: 1, PrevHash: wire.DoubleSHA256([]byte("a")), MerkleRoot: wire.DoubleSHA256([]byte("b")), Timestamp: 99, Bits: 0x1f00ffff}
	hasher, err := NewHeaderHasher(&h)
	if err != nil {
		t.Fatal(err)
	}
	for _, nonce := range []uint64{0, 1, 1 << 40, ^uint64(0)} {
		h.Nonce = nonce
		if got, want := hasher.Hash(nonce), h.Hash(); got != want {
			t.Fatalf("nonce %d: midstate %s, naive %s", nonce, got, want)
		}
	}
}

func TestMeets(t *testing.T) {
	target := TargetBytes(BigToCompact(TargetForDifficulty(256)))
	var h wire.Hash
	if !Meets(h, &target) {
		t.Fatal("zero hash does not meet")
	}
	h[0] = 1
	if Meets(h, &target) {
		t.Fatal("hash above target meets")
	}
	// Meets agrees with the big.Int comparison.
	for i := 0; i < 1000; i++ {
		x := wire.DoubleSHA256([]byte{byte(i), byte(i >> 8)})
		tb := TargetBytes(BigToCompact(TargetForDifficulty(2)))
		want := HashToBig(x).Cmp(CompactToBig(BigToCompact(TargetForDifficulty(2)))) <= 0
		if Meets(x, &tb) != want {
			t.Fatalf("Meets disagrees with big.Int for %s", x)
		}
	}
}

// TestHash2MatchesCryptoSHA256 checks the two-lane kernel (or its fallback) against crypto/sha256
// on random headers and nonces, including nonces that carry across the 32-bit word boundary.
func TestHash2MatchesCryptoSHA256(t *testing.T) {
	t.Logf("SHA-NI kernel in use: %v", Accelerated())
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		var raw [wire.HeaderSize]byte
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		checkHash2(t, raw, rng.Uint64())
	}
	var raw [wire.HeaderSize]byte
	for _, nonce := range []uint64{0, 1<<32 - 1, 1<<64 - 2, 1<<64 - 1} {
		checkHash2(t, raw, nonce)
	}
}

func checkHash2(t testing.TB, raw [wire.HeaderSize]byte, nonce uint64) {
	t.Helper()
	h, err := wire.DecodeHeader(raw[:])
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := NewHeaderHasher(&h)
	if err != nil {
		t.Fatal(err)
	}
	a, b := hasher.Hash2(nonce)
	for k, got := range []wire.Hash{a, b} {
		binary.LittleEndian.PutUint64(raw[wire.NonceOffset:], nonce+uint64(k))
		first := sha256.Sum256(raw[:])
		if want := wire.Hash(sha256.Sum256(first[:])); got != want {
			t.Fatalf("header %x nonce %d: kernel %s, crypto/sha256 %s", raw[:], nonce+uint64(k), got, want)
		}
	}
}

func FuzzHash2(f *testing.F) {
	f.Add(make([]byte, wire.HeaderSize), uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, nonce uint64) {
		var raw [wire.HeaderSize]byte
		copy(raw[:], data)
		checkHash2(t, raw, nonce)
	})
}

func TestSearchFindsTheFirstMeetingNonce(t *testing.T) {
	h := wire.Header{Version: 1, Timestamp: 5, Bits: 0x1f00ffff}
	hasher, err := NewHeaderHasher(&h)
	if err != nil {
		t.Fatal(err)
	}
	target := TargetBytes(BigToCompact(TargetForDifficulty(64)))
	nonce, ok := hasher.Search(0, 1<<20, &target)
	if !ok {
		t.Fatal("no nonce in 2^20 at difficulty 64")
	}
	for n := uint64(0); n < nonce; n++ {
		if Meets(hasher.Hash(n), &target) {
			t.Fatalf("Search returned %d, but %d meets", nonce, n)
		}
	}
	if !Meets(hasher.Hash(nonce), &target) {
		t.Fatalf("Search returned %d, which does not meet", nonce)
	}
}
