package wire

import (
	"bytes"
	"testing"
)

// FuzzDecodeBlock checks that decoding never panics and that whatever decodes re-encodes to the
// same bytes (one encoding per block).
func FuzzDecodeBlock(f *testing.F) {
	f.Add(sampleBlock(f).Encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBlock(data)
		if err != nil {
			return
		}
		if !bytes.Equal(b.Encode(), data) {
			t.Fatalf("non-canonical: decoded block re-encodes differently")
		}
	})
}

func FuzzDecodeTx(f *testing.F) {
	b := sampleBlock(f)
	for _, tx := range b.Txs {
		f.Add(tx.Encode())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tx, err := DecodeTx(data)
		if err != nil {
			return
		}
		if !bytes.Equal(tx.Encode(), data) {
			t.Fatalf("non-canonical: decoded tx re-encodes differently")
		}
	})
}

func FuzzDecodeHeader(f *testing.F) {
	f.Add(sampleBlock(f).Header.Encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := DecodeHeader(data)
		if err != nil {
			return
		}
		if !bytes.Equal(h.Encode(), data) {
			t.Fatalf("non-canonical header")
		}
	})
}
