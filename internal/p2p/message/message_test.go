package message

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"testing"

	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

func sampleMessages(t testing.TB) []Message {
	k, _ := keys.FromSeed(bytes.Repeat([]byte{5}, 32))
	tx := &wire.Tx{Type: wire.TxTransfer, ChainID: 3, Amount: 1, Nonce: 2}
	tx.Sign(k)
	blk := &wire.Block{Header: wire.Header{Version: 1, Timestamp: 9}, Txs: []*wire.Tx{wire.NewCoinbase(3, k.AccountAddress(), 50, 1, k.Public), tx}}
	blk.Header.MerkleRoot = blk.ComputeMerkleRoot()
	blk.SignBlock(k.Private)
	h := wire.DoubleSHA256([]byte("x"))
	return []Message{
		&Version{Protocol: 1, NetworkID: "net", GenesisHash: h, BestHeight: 7, Role: RoleObserver, Org: "org1", ListenAddr: "a:1", Nonce: 99},
		&Verack{}, &Ping{Nonce: 4}, &Pong{Nonce: 4}, &GetAddr{},
		&Addr{Peers: []PeerAddr{{NodeID: [32]byte(k.Public), Addr: "10.0.0.1:9333"}}},
		&Inv{invList{Items: []InvVect{{InvBlock, h}, {InvTx, h}}}},
		&GetData{invList{Items: []InvVect{{InvTx, h}}}},
		&NotFound{invList{Items: []InvVect{{InvBlock, h}}}},
		&Block{Block: blk}, &Tx{Tx: tx},
		&GetHeaders{Locator: []wire.Hash{h, h}, Stop: h},
		&Headers{Headers: []wire.Header{blk.Header, blk.Header}},
		&Reject{Code: RejectInvalid, Reason: "bad", Hash: h},
	}
}

func TestRoundTripEveryType(t *testing.T) {
	for _, m := range sampleMessages(t) {
		frame := Encode(m)
		got, n, err := Read(bytes.NewReader(frame))
		if err != nil {
			t.Fatalf("%s: %v", m.Type(), err)
		}
		if n != len(frame) || !bytes.Equal(Encode(got), frame) {
			t.Fatalf("%s: round trip changed the frame", m.Type())
		}
		if !reflect.DeepEqual(got.Type(), m.Type()) {
			t.Fatalf("type %s became %s", m.Type(), got.Type())
		}
	}
}

func TestFramingErrors(t *testing.T) {
	good := Encode(&Ping{Nonce: 1})
	badSum := append([]byte{}, good...)
	badSum[len(badSum)-1] ^= 1
	unknown := append([]byte{}, good...)
	unknown[0] = 200
	oversized := append([]byte{}, good...)
	binary.LittleEndian.PutUint32(oversized[1:5], 9)
	hugeBlock := []byte{byte(TypeBlock)}
	hugeBlock = binary.LittleEndian.AppendUint32(hugeBlock, wire.MaxBlockPayload+1)
	hugeBlock = append(hugeBlock, 0, 0, 0, 0)
	badInv := Encode(&Inv{invList{Items: []InvVect{{9, wire.Hash{}}}}})
	for name, c := range map[string]struct {
		frame []byte
		want  error
	}{
		"checksum":   {badSum, ErrChecksum},
		"type":       {unknown, ErrUnknownType},
		"oversized":  {oversized, ErrOversized},
		"huge block": {hugeBlock, ErrOversized},
		"inv type":   {badInv, ErrMalformed},
	} {
		if _, _, err := Read(bytes.NewReader(c.frame)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, _, err := Read(bytes.NewReader(good[:len(good)-2])); err == nil {
		t.Error("truncated frame accepted")
	}
}

// FuzzRead: arbitrary bytes never panic, and whatever decodes re-encodes to the same frame.
func FuzzRead(f *testing.F) {
	for _, m := range sampleMessages(f) {
		f.Add(Encode(m))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, n, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		if !bytes.Equal(Encode(m), data[:n]) {
			t.Fatalf("%s: decoded frame re-encodes differently", m.Type())
		}
	})
}

// TestBlockFramesCappedAtConsensusSize: a block frame over the network's block size is refused
// from its header; one within it, sent as an EncodedBlock, reads back as the block.
func TestBlockFramesCappedAtConsensusSize(t *testing.T) {
	var blk *Block
	for _, m := range sampleMessages(t) {
		if b, ok := m.(*Block); ok {
			blk = b
		}
	}
	raw := blk.Block.Encode()
	frame := Encode(&EncodedBlock{Raw: raw})
	if !bytes.Equal(frame, Encode(blk)) {
		t.Fatal("EncodedBlock frames differ from Block frames")
	}
	if _, _, err := ReadMax(bytes.NewReader(frame), len(raw)-1); !errors.Is(err, ErrOversized) {
		t.Fatalf("a block one byte over the limit: %v", err)
	}
	m, _, err := ReadMax(bytes.NewReader(frame), len(raw))
	if err != nil || m.(*Block).Block.Hash() != blk.Block.Hash() {
		t.Fatalf("a block at the limit: %v", err)
	}
}

// TestReadAllocatesWhatArrives: a header announcing a 16 MiB block followed by 1,000 bytes and a
// cut connection costs about what arrived, not 16 MiB.
func TestReadAllocatesWhatArrives(t *testing.T) {
	hdr := make([]byte, HeaderSize)
	hdr[0] = byte(TypeBlock)
	binary.LittleEndian.PutUint32(hdr[1:5], 16<<20)
	input := append(hdr, make([]byte, 1000)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, _, err := ReadMax(bytes.NewReader(input), 32<<20); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut frame: %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 256<<10 {
		t.Fatalf("a cut 16 MiB frame allocated %d bytes", per)
	}
}
