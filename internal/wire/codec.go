package wire

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Writer appends canonical encodings to a byte slice.
type Writer struct{ buf []byte }

func (w *Writer) U8(v uint8)     { w.buf = append(w.buf, v) }
func (w *Writer) U32(v uint32)   { w.buf = binary.LittleEndian.AppendUint32(w.buf, v) }
func (w *Writer) U64(v uint64)   { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }
func (w *Writer) Bytes(b []byte) { w.buf = append(w.buf, b...) }
func (w *Writer) Uvarint(v uint64) {
	w.buf = binary.AppendUvarint(w.buf, v)
}

// UvarintSize returns the encoded length of v.
func UvarintSize(v uint64) int {
	if v == 0 {
		return 1
	}
	return (bits.Len64(v) + 6) / 7
}

// Reader decodes from a byte slice, remembering the first error so call sites stay linear.
type Reader struct {
	buf []byte
	off int
	err error
}

func (r *Reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *Reader) Take(n int) []byte {
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

func (r *Reader) U8() uint8 {
	b := r.Take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *Reader) U32() uint32 {
	b := r.Take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *Reader) U64() uint64 {
	b := r.Take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *Reader) Array(dst []byte) {
	if b := r.Take(len(dst)); b != nil {
		copy(dst, b)
	}
}

// uvarint reads a minimally encoded unsigned varint no larger than max.
func (r *Reader) Uvarint(max uint64) uint64 {
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
func (r *Reader) End() error {
	if r.err == nil && r.off != len(r.buf) {
		r.fail(fmt.Errorf("%d bytes left at offset %d: %w", len(r.buf)-r.off, r.off, ErrTrailingBytes))
	}
	return r.err
}

// NewWriter returns a Writer appending to buf (which may be nil).
func NewWriter(buf []byte) *Writer { return &Writer{buf: buf} }

// Output returns the bytes written.
func (w *Writer) Output() []byte { return w.buf }

// String appends a length-prefixed string of at most max bytes; longer strings are cut.
func (w *Writer) String(s string, max int) {
	if len(s) > max {
		s = s[:max]
	}
	w.Uvarint(uint64(len(s)))
	w.Bytes([]byte(s))
}

// NewReader returns a strict Reader over b.
func NewReader(b []byte) *Reader { return &Reader{buf: b} }

// Err returns the first decoding error.
func (r *Reader) Err() error { return r.err }

// Fail records err unless an error is already recorded.
func (r *Reader) Fail(err error) { r.fail(err) }

// String reads a length-prefixed string of at most max bytes.
func (r *Reader) String(max int) string {
	n := r.Uvarint(uint64(max))
	b := r.Take(int(n))
	return string(b)
}

// ReadHeader reads an 88-byte header.
func (r *Reader) ReadHeader() Header {
	var h Header
	h.read(r)
	return h
}

// WriteHeader appends a header.
func (w *Writer) WriteHeader(h *Header) { h.write(w) }

// Remaining is the number of bytes not yet read.
func (r *Reader) Remaining() int { return len(r.buf) - r.off }
