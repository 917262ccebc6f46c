package wire

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// writer appends canonical encodings to a byte slice.
type writer struct{ buf []byte }

func (w *writer) u8(v uint8)     { w.buf = append(w.buf, v) }
func (w *writer) u32(v uint32)   { w.buf = binary.LittleEndian.AppendUint32(w.buf, v) }
func (w *writer) u64(v uint64)   { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }
func (w *writer) bytes(b []byte) { w.buf = append(w.buf, b...) }
func (w *writer) uvarint(v uint64) {
	w.buf = binary.AppendUvarint(w.buf, v)
}

// UvarintSize returns the encoded length of v.
func UvarintSize(v uint64) int {
	if v == 0 {
		return 1
	}
	return (bits.Len64(v) + 6) / 7
}

// reader decodes from a byte slice, remembering the first error so call sites stay linear.
type reader struct {
	buf []byte
	off int
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.buf)-r.off < n {
		r.fail(fmt.Errorf("need %d bytes at offset %d of %d: %w", n, r.off, len(r.buf), ErrTruncated))
		return nil
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) u8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *reader) array(dst []byte) {
	if b := r.take(len(dst)); b != nil {
		copy(dst, b)
	}
}

// uvarint reads a minimally encoded unsigned varint no larger than max.
func (r *reader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf[r.off:])
	switch {
	case n == 0:
		r.fail(fmt.Errorf("varint at offset %d: %w", r.off, ErrTruncated))
		return 0
	case n < 0:
		r.fail(fmt.Errorf("varint at offset %d overflows 64 bits: %w", r.off, ErrNonCanonical))
		return 0
	case n != UvarintSize(v):
		r.fail(fmt.Errorf("varint at offset %d uses %d bytes for %d: %w", r.off, n, v, ErrNonCanonical))
		return 0
	case v > max:
		r.fail(fmt.Errorf("count %d exceeds limit %d: %w", v, max, ErrTooLarge))
		return 0
	}
	r.off += n
	return v
}

// end fails unless every byte was consumed.
func (r *reader) end() error {
	if r.err == nil && r.off != len(r.buf) {
		r.fail(fmt.Errorf("%d bytes left at offset %d: %w", len(r.buf)-r.off, r.off, ErrTrailingBytes))
	}
	return r.err
}
