package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/chainnet/chainnet/internal/keys"
)

func testKey(t testing.TB) *keys.Key {
	t.Helper()
	k, err := keys.FromSeed(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sampleBlock(t testing.TB) *Block {
	k := testKey(t)
	to, _ := keys.Generate()
	transfer := &Tx{Type: TxTransfer, ChainID: 9, To: to.AccountAddress(), Amount: 5, Fee: 1, Nonce: 3}
	transfer.Sign(k)
	gov := NewGovernance(9, 4, 0, []byte("an action"))
	gov.Sign(k)
	b := &Block{
		Header: Header{Version: 1, PrevHash: DoubleSHA256([]byte("p")), Timestamp: 1_700_000_000, Bits: 0x1f00ffff, Nonce: 42},
		Txs:    []*Tx{NewCoinbase(9, k.AccountAddress(), 51, 7, k.Public), transfer, gov},
	}
	b.Header.MerkleRoot = b.ComputeMerkleRoot()
	b.SignBlock(k.Private)
	return b
}

func TestHeaderLayout(t *testing.T) {
	h := Header{Version: 1, Nonce: 0x0102030405060708}
	enc := h.Encode()
	if len(enc) != HeaderSize {
		t.Fatalf("header is %d bytes, want %d", len(enc), HeaderSize)
	}
	// The nonce must sit wholly after the midstate prefix, in the final SHA-256 block.
	if NonceOffset < MidstateSize || enc[NonceOffset] != 0x08 || enc[HeaderSize-1] != 0x01 {
		t.Fatalf("nonce not at offset %d: % x", NonceOffset, enc[NonceOffset:])
	}
	got, err := DecodeHeader(enc)
	if err != nil || got != h {
		t.Fatalf("round trip: %v %+v", err, got)
	}
}

func TestBlockRoundTrip(t *testing.T) {
	b := sampleBlock(t)
	enc := b.Encode()
	if len(enc) != b.Size() {
		t.Fatalf("Size()=%d, encoding %d bytes", b.Size(), len(enc))
	}
	got, err := DecodeBlock(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Encode(), enc) || got.Hash() != b.Hash() {
		t.Fatal("round trip changed the block")
	}
	if err := got.VerifyMinerSignature(); err != nil {
		t.Fatal(err)
	}
	for _, tx := range got.Txs[1:] {
		if err := tx.VerifySignature(); err != nil {
			t.Fatalf("%d: %v", tx.Type, err)
		}
		if tx.Size() != len(tx.Encode()) {
			t.Fatalf("type %d: Size()=%d, encoding %d bytes", tx.Type, tx.Size(), len(tx.Encode()))
		}
	}
	if string(got.Txs[2].Payload) != "an action" {
		t.Fatalf("governance payload %q", got.Txs[2].Payload)
	}
	if got.ComputeMerkleRoot() != got.Header.MerkleRoot {
		t.Fatal("merkle root changed")
	}
}

func TestDecodeRejects(t *testing.T) {
	enc := sampleBlock(t).Encode()
	txCountOff := BlockOverhead
	nonCanonical := append(append(append([]byte{}, enc[:txCountOff]...), 0x82, 0x00), enc[txCountOff+1:]...)
	unknownType := append([]byte{}, enc...)
	unknownType[txCountOff+1] = 9
	hugeCount := append(append(append([]byte{}, enc[:txCountOff]...), 0xe8, 0x07), enc[txCountOff+1:]...)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"truncated", enc[:len(enc)-1], ErrTruncated},
		{"trailing", append(append([]byte{}, enc...), 0), ErrTrailingBytes},
		{"non-canonical count", nonCanonical, ErrNonCanonical},
		{"unknown tx type", unknownType, ErrUnknownTxType},
		{"count beyond input", hugeCount, ErrTruncated},
		{"oversized", make([]byte, MaxBlockPayload+1), ErrTooLarge},
	}
	for _, c := range cases {
		_, err := DecodeBlock(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := DecodeHeader(make([]byte, HeaderSize+1)); !errors.Is(err, ErrTrailingBytes) {
		t.Errorf("long header: %v", err)
	}
	if _, err := DecodeTx(make([]byte, MaxTxSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long tx: %v", err)
	}
}

func TestSignatureBindsChainIDAndFields(t *testing.T) {
	b := sampleBlock(t)
	tx := *b.Txs[1]
	tx.ChainID++
	if err := tx.VerifySignature(); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other chain id accepted: %v", err)
	}
	tx = *b.Txs[1]
	tx.Amount++
	if err := tx.VerifySignature(); err == nil {
		t.Fatal("changed amount accepted")
	}
	gov := *b.Txs[2]
	gov.Payload = []byte("another action")
	if err := gov.VerifySignature(); err == nil {
		t.Fatal("changed governance payload accepted")
	}
	b.Header.Nonce++
	if err := b.VerifyMinerSignature(); err == nil {
		t.Fatal("miner signature survived a header change")
	}
}

// TestMinerKeyIsCommitted: the block hash commits to the miner key (through the coinbase and the
// Merkle root), so a relay that swaps the key, re-signing with its own, either changes the block's
// Merkle root (and so its hash and proof of work) or leaves a signature that does not verify.
func TestMinerKeyIsCommitted(t *testing.T) {
	b := sampleBlock(t)
	thief, err := keys.FromSeed(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	swapped := *b
	swapped.Txs = append([]*Tx{}, b.Txs...)
	cb := *b.Txs[0]
	copy(cb.MinerKey[:], thief.Public)
	swapped.Txs[0] = &cb
	swapped.SignBlock(thief.Private)
	if swapped.ComputeMerkleRoot() == b.Header.MerkleRoot {
		t.Fatal("the Merkle root does not commit to the miner key")
	}
	if swapped.Hash() != b.Hash() {
		t.Fatal("test setup: the header should be unchanged")
	}
	// Keeping the original key but re-signing with another key does not verify.
	resigned := *b
	resigned.SignBlock(thief.Private)
	if err := resigned.VerifyMinerSignature(); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("a signature by another key verified: %v", err)
	}
}

func TestGovernancePayloadBounded(t *testing.T) {
	k := testKey(t)
	tx := NewGovernance(9, 0, 0, make([]byte, MaxGovernancePayload))
	tx.Sign(k)
	if _, err := DecodeTx(tx.Encode()); err != nil {
		t.Fatalf("largest payload refused: %v", err)
	}
	tx.Payload = make([]byte, MaxGovernancePayload+1)
	if _, err := DecodeTx(tx.Encode()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("payload over the limit: %v", err)
	}
}

func TestMerkleRoot(t *testing.T) {
	a, b, c := DoubleSHA256([]byte("a")), DoubleSHA256([]byte("b")), DoubleSHA256([]byte("c"))
	if MerkleRoot(nil) != ZeroHash || MerkleRoot([]Hash{a}) != a {
		t.Fatal("trivial roots")
	}
	// Duplicating the last leaf must change the root (no CVE-2012-2459 ambiguity).
	if MerkleRoot([]Hash{a, b, c}) == MerkleRoot([]Hash{a, b, c, c}) {
		t.Fatal("duplicate last leaf yields the same root")
	}
	if MerkleRoot([]Hash{a, b}) == MerkleRoot([]Hash{b, a}) {
		t.Fatal("order does not matter")
	}
}

func TestParseHash(t *testing.T) {
	h := DoubleSHA256([]byte("x"))
	got, err := ParseHash(h.String())
	if err != nil || got != h {
		t.Fatal(err)
	}
	if _, err := ParseHash("zz"); err == nil {
		t.Fatal("bad hash accepted")
	}
}
