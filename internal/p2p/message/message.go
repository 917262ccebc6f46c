// Package message owns the P2P wire protocol: the frame (type, length, checksum), per-type size
// caps, and the strict encoding of every message.
package message

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/chainnet/chainnet/internal/wire"
)

// Type identifies a message.
type Type uint8

const (
	TypeVersion Type = iota + 1
	TypeVerack
	TypePing
	TypePong
	TypeAddr
	TypeGetAddr
	TypeInv
	TypeGetData
	TypeNotFound
	TypeBlock
	TypeTx
	TypeGetHeaders
	TypeHeaders
	TypeReject
)

var typeNames = map[Type]string{
	TypeVersion: "version", TypeVerack: "verack", TypePing: "ping", TypePong: "pong", TypeAddr: "addr",
	TypeGetAddr: "getaddr", TypeInv: "inv", TypeGetData: "getdata", TypeNotFound: "notfound", TypeBlock: "block",
	TypeTx: "tx", TypeGetHeaders: "getheaders", TypeHeaders: "headers", TypeReject: "reject",
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", uint8(t))
}

// Limits.
const (
	MaxInv        = 50_000
	MaxAddr       = 1_000
	MaxHeaders    = 2_000
	MaxLocator    = 101
	maxStringLen  = 255
	HeaderSize    = 1 + 4 + 4 // type, length, checksum
	maxSmallFrame = 1 << 10
)

// maxPayload caps each type's payload: a peer cannot make us buffer more than its type needs.
func maxPayload(t Type) (int, bool) {
	switch t {
	case TypeVersion, TypeReject:
		return maxSmallFrame, true
	case TypeVerack, TypeGetAddr:
		return 0, true
	case TypePing, TypePong:
		return 8, true
	case TypeAddr:
		return 5 + MaxAddr*(32+1+maxStringLen), true
	case TypeInv, TypeGetData, TypeNotFound:
		return 5 + MaxInv*(1+wire.HashSize), true
	case TypeBlock:
		return wire.MaxBlockPayload, true
	case TypeTx:
		return wire.MaxTxSize, true
	case TypeGetHeaders:
		return 2 + MaxLocator*wire.HashSize + wire.HashSize, true
	case TypeHeaders:
		return 3 + MaxHeaders*wire.HeaderSize, true
	}
	return 0, false
}

// Frame errors. Every framing failure wraps one of them; each is misbehaviour by the sender.
var (
	ErrUnknownType = errors.New("unknown message type")
	ErrOversized   = errors.New("frame exceeds its type's size limit")
	ErrChecksum    = errors.New("frame checksum mismatch")
	ErrMalformed   = errors.New("malformed message")
)

// Message is any protocol message.
type Message interface {
	Type() Type
	encode(w *wire.Writer)
	decode(r *wire.Reader)
}

// Checksum is the frame checksum: the first 4 bytes of SHA-256d of the payload.
func Checksum(payload []byte) [4]byte {
	first := sha256.Sum256(payload)
	second := sha256.Sum256(first[:])
	return [4]byte(second[:4])
}

// Encode returns the framed message.
func Encode(m Message) []byte {
	w := wire.NewWriter(make([]byte, HeaderSize, HeaderSize+64))
	m.encode(w)
	out := w.Output()
	payload := out[HeaderSize:]
	out[0] = byte(m.Type())
	binary.LittleEndian.PutUint32(out[1:5], uint32(len(payload)))
	sum := Checksum(payload)
	copy(out[5:9], sum[:])
	return out
}

// Write writes one framed message.
func Write(w io.Writer, m Message) (int, error) {
	b := Encode(m)
	n, err := w.Write(b)
	return n, err
}

// Read reads one frame and decodes it, with blocks up to wire.MaxBlockPayload. The returned
// size is the frame's total length in bytes (for traffic metrics).
func Read(r io.Reader) (Message, int, error) { return ReadMax(r, wire.MaxBlockPayload) }

// ReadMax reads one frame and decodes it, refusing block frames over maxBlock bytes (a network's
// consensus block size) as oversized before reading them. It never allocates more than the bytes
// that have arrived (and at most the type's cap): a header announcing a large frame costs nothing
// until its payload comes.
func ReadMax(r io.Reader, maxBlock int) (Message, int, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, err
	}
	t := Type(hdr[0])
	length := binary.LittleEndian.Uint32(hdr[1:5])
	limit, ok := maxPayload(t)
	if !ok {
		return nil, HeaderSize, fmt.Errorf("type %d: %w", hdr[0], ErrUnknownType)
	}
	if t == TypeBlock {
		limit = min(limit, maxBlock)
	}
	if int64(length) > int64(limit) {
		return nil, HeaderSize, fmt.Errorf("%s: %d bytes, limit %d: %w", t, length, limit, ErrOversized)
	}
	payload, err := readPayload(r, int(length))
	if err != nil {
		return nil, HeaderSize, fmt.Errorf("%s payload: %w", t, err)
	}
	if Checksum(payload) != [4]byte(hdr[5:9]) {
		return nil, HeaderSize + int(length), fmt.Errorf("%s: %w", t, ErrChecksum)
	}
	m, err := Decode(t, payload)
	return m, HeaderSize + int(length), err
}

// readChunk is the most readPayload allocates ahead of the bytes received.
const readChunk = 64 << 10

// readPayload reads n bytes, growing its buffer as they arrive (at most doubling it), so that a
// peer announcing a large frame and sending it slowly, or not at all, holds little memory.
func readPayload(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, readChunk))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		m, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}

// Decode decodes a payload of type t strictly.
func Decode(t Type, payload []byte) (Message, error) {
	m := newMessage(t)
	if m == nil {
		return nil, fmt.Errorf("type %d: %w", t, ErrUnknownType)
	}
	r := wire.NewReader(payload)
	m.decode(r)
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", t, ErrMalformed, err)
	}
	return m, nil
}

func newMessage(t Type) Message {
	switch t {
	case TypeVersion:
		return &Version{}
	case TypeVerack:
		return &Verack{}
	case TypePing:
		return &Ping{}
	case TypePong:
		return &Pong{}
	case TypeAddr:
		return &Addr{}
	case TypeGetAddr:
		return &GetAddr{}
	case TypeInv:
		return &Inv{}
	case TypeGetData:
		return &GetData{}
	case TypeNotFound:
		return &NotFound{}
	case TypeBlock:
		return &Block{}
	case TypeTx:
		return &Tx{}
	case TypeGetHeaders:
		return &GetHeaders{}
	case TypeHeaders:
		return &Headers{}
	case TypeReject:
		return &Reject{}
	}
	return nil
}
