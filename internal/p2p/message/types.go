package message

import (
	"fmt"

	"github.com/chainnet/chainnet/internal/wire"
)

// ProtocolVersion is the version this node speaks.
const ProtocolVersion = 1

// Role of a node in the handshake.
const (
	RoleValidator uint8 = 1
	RoleObserver  uint8 = 2
)

// Version opens the handshake: who we are, on which network, how far our chain goes.
type Version struct {
	Protocol    uint32
	NetworkID   string
	GenesisHash wire.Hash
	BestHeight  uint64
	Role        uint8
	Org         string
	// ListenAddr is where the sender accepts connections (host:port), for address gossip; may be
	// empty.
	ListenAddr string
	// Nonce detects connections to ourselves.
	Nonce uint64
}

func (*Version) Type() Type { return TypeVersion }
func (m *Version) encode(w *wire.Writer) {
	w.U32(m.Protocol)
	w.String(m.NetworkID, maxStringLen)
	w.Bytes(m.GenesisHash[:])
	w.U64(m.BestHeight)
	w.U8(m.Role)
	w.String(m.Org, maxStringLen)
	w.String(m.ListenAddr, maxStringLen)
	w.U64(m.Nonce)
}
func (m *Version) decode(r *wire.Reader) {
	m.Protocol = r.U32()
	m.NetworkID = r.String(maxStringLen)
	r.Array(m.GenesisHash[:])
	m.BestHeight = r.U64()
	m.Role = r.U8()
	m.Org = r.String(maxStringLen)
	m.ListenAddr = r.String(maxStringLen)
	m.Nonce = r.U64()
	if r.Err() == nil && m.Role != RoleValidator && m.Role != RoleObserver {
		r.Fail(fmt.Errorf("role %d", m.Role))
	}
}

// Verack acknowledges a Version.
type Verack struct{}

func (*Verack) Type() Type            { return TypeVerack }
func (*Verack) encode(*wire.Writer)   {}
func (*Verack) decode(*wire.Reader)   {}
func (*GetAddr) Type() Type           { return TypeGetAddr }
func (*GetAddr) encode(*wire.Writer)  {}
func (*GetAddr) decode(*wire.Reader)  {}
func (m *Ping) Type() Type            { return TypePing }
func (m *Ping) encode(w *wire.Writer) { w.U64(m.Nonce) }
func (m *Ping) decode(r *wire.Reader) { m.Nonce = r.U64() }
func (m *Pong) Type() Type            { return TypePong }
func (m *Pong) encode(w *wire.Writer) { w.U64(m.Nonce) }
func (m *Pong) decode(r *wire.Reader) { m.Nonce = r.U64() }

// GetAddr asks for known peer addresses.
type GetAddr struct{}

// Ping is a keepalive; the peer answers Pong with the same nonce.
type Ping struct{ Nonce uint64 }

// Pong answers a Ping.
type Pong struct{ Nonce uint64 }

// PeerAddr is a peer's identity and address.
type PeerAddr struct {
	NodeID [32]byte
	Addr   string
}

// Addr shares known peers.
type Addr struct{ Peers []PeerAddr }

func (*Addr) Type() Type { return TypeAddr }
func (m *Addr) encode(w *wire.Writer) {
	w.Uvarint(uint64(len(m.Peers)))
	for _, p := range m.Peers {
		w.Bytes(p.NodeID[:])
		w.String(p.Addr, maxStringLen)
	}
}
func (m *Addr) decode(r *wire.Reader) {
	n := r.Uvarint(MaxAddr)
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		var p PeerAddr
		r.Array(p.NodeID[:])
		p.Addr = r.String(maxStringLen)
		m.Peers = append(m.Peers, p)
	}
}

// InvType says what an inventory hash names.
type InvType uint8

const (
	InvTx    InvType = 1
	InvBlock InvType = 2
)

// InvVect names one object.
type InvVect struct {
	Type InvType
	Hash wire.Hash
}

type invList struct{ Items []InvVect }

func (m *invList) encode(w *wire.Writer) {
	w.Uvarint(uint64(len(m.Items)))
	for _, it := range m.Items {
		w.U8(uint8(it.Type))
		w.Bytes(it.Hash[:])
	}
}
func (m *invList) decode(r *wire.Reader) {
	n := r.Uvarint(MaxInv)
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		var it InvVect
		it.Type = InvType(r.U8())
		r.Array(it.Hash[:])
		if r.Err() == nil && it.Type != InvTx && it.Type != InvBlock {
			r.Fail(fmt.Errorf("inventory type %d", it.Type))
		}
		m.Items = append(m.Items, it)
	}
}

// Inv announces objects the sender has validated.
type Inv struct{ invList }

// GetData requests announced objects.
type GetData struct{ invList }

// NotFound answers a GetData for objects the sender does not have.
type NotFound struct{ invList }

func (*Inv) Type() Type      { return TypeInv }
func (*GetData) Type() Type  { return TypeGetData }
func (*NotFound) Type() Type { return TypeNotFound }

// Block carries a block.
type Block struct{ Block *wire.Block }

func (*Block) Type() Type              { return TypeBlock }
func (m *Block) encode(w *wire.Writer) { w.Bytes(m.Block.Encode()) }
func (m *Block) decode(r *wire.Reader) {
	b, err := wire.DecodeBlock(r.Take(r.Remaining()))
	if err != nil {
		r.Fail(err)
		return
	}
	m.Block = b
}

// EncodedBlock is a block message made of a block's canonical encoding as stored, so that a node
// serves blocks without decoding them. It is only ever sent: Read returns a Block.
type EncodedBlock struct{ Raw []byte }

func (*EncodedBlock) Type() Type              { return TypeBlock }
func (m *EncodedBlock) encode(w *wire.Writer) { w.Bytes(m.Raw) }
func (m *EncodedBlock) decode(r *wire.Reader) { m.Raw = r.Take(r.Remaining()) }

// Tx carries a transaction.
type Tx struct{ Tx *wire.Tx }

func (*Tx) Type() Type              { return TypeTx }
func (m *Tx) encode(w *wire.Writer) { w.Bytes(m.Tx.Encode()) }
func (m *Tx) decode(r *wire.Reader) {
	tx, err := wire.DecodeTx(r.Take(r.Remaining()))
	if err != nil {
		r.Fail(err)
		return
	}
	m.Tx = tx
}

// GetHeaders asks for best-chain headers after the first locator hash the peer knows.
type GetHeaders struct {
	Locator []wire.Hash
	Stop    wire.Hash
}

func (*GetHeaders) Type() Type { return TypeGetHeaders }
func (m *GetHeaders) encode(w *wire.Writer) {
	w.Uvarint(uint64(len(m.Locator)))
	for _, h := range m.Locator {
		w.Bytes(h[:])
	}
	w.Bytes(m.Stop[:])
}
func (m *GetHeaders) decode(r *wire.Reader) {
	n := r.Uvarint(MaxLocator)
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		var h wire.Hash
		r.Array(h[:])
		m.Locator = append(m.Locator, h)
	}
	r.Array(m.Stop[:])
}

// Headers answers GetHeaders with up to MaxHeaders headers.
type Headers struct{ Headers []wire.Header }

func (*Headers) Type() Type { return TypeHeaders }
func (m *Headers) encode(w *wire.Writer) {
	w.Uvarint(uint64(len(m.Headers)))
	for i := range m.Headers {
		w.WriteHeader(&m.Headers[i])
	}
}
func (m *Headers) decode(r *wire.Reader) {
	n := r.Uvarint(MaxHeaders)
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		m.Headers = append(m.Headers, r.ReadHeader())
	}
}

// RejectCode says why something was refused.
type RejectCode uint8

const (
	RejectMalformed RejectCode = 1
	RejectInvalid   RejectCode = 2
	RejectObsolete  RejectCode = 3
	RejectNotMember RejectCode = 4
	RejectWrongNet  RejectCode = 5
)

// Reject tells the peer what was refused and why, before disconnecting or ignoring.
type Reject struct {
	Code   RejectCode
	Reason string
	Hash   wire.Hash
}

func (*Reject) Type() Type { return TypeReject }
func (m *Reject) encode(w *wire.Writer) {
	w.U8(uint8(m.Code))
	w.String(m.Reason, maxStringLen)
	w.Bytes(m.Hash[:])
}
func (m *Reject) decode(r *wire.Reader) {
	m.Code = RejectCode(r.U8())
	m.Reason = r.String(maxStringLen)
	r.Array(m.Hash[:])
}
