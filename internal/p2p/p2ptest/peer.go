// Package p2ptest owns the tooling of adversarial P2P tests: a scripted peer that speaks the real
// protocol (mutual TLS with its own ed25519 identity, real frames from package message) and can
// break it wherever a test says, real nodes run in-process for it to attack, builders of valid
// blocks, headers and transactions for it to send, and heap figures to judge the damage.
package p2ptest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/p2p"
	"github.com/chainnet/chainnet/internal/p2p/message"
)

// Peer is a hand-driven protocol peer: honest up to the byte it is told to break.
type Peer struct {
	Key  *keys.Key
	Conn *tls.Conn
	// Remote is the identity the node proved in the TLS handshake.
	Remote p2p.NodeID

	writeMu sync.Mutex
}

// Version is the version message an honest validator of params sends.
func Version(params *genesis.Params) *message.Version {
	return &message.Version{Protocol: message.ProtocolVersion, NetworkID: params.NetworkID, GenesisHash: params.GenesisHash,
		Role: message.RoleValidator, Nonce: uint64(time.Now().UnixNano())}
}

// DialTLS opens TCP and mutual TLS to addr with key (a fresh identity when nil), and stops there.
func DialTLS(ctx context.Context, addr string, key *keys.Key) (*Peer, error) {
	return DialTLSFrom(ctx, "", addr, key)
}

// DialTLSFrom is DialTLS from the local IP from (e.g. 127.0.0.2: attackers on loopback come
// from other addresses than the honest nodes, as they would on a real network).
func DialTLSFrom(ctx context.Context, from, addr string, key *keys.Key) (*Peer, error) {
	if key == nil {
		var err error
		if key, err = keys.Generate(); err != nil {
			return nil, err
		}
	}
	var remote p2p.NodeID
	conf, err := p2p.TLSConfig(key, func(id p2p.NodeID) error { remote = id; return nil })
	if err != nil {
		return nil, err
	}
	raw, err := DialTCP(ctx, from, addr)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, conf)
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := conn.HandshakeContext(hctx); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("tls: %w", err)
	}
	return &Peer{Key: key, Conn: conn, Remote: remote}, nil
}

// DialTCP opens a plain TCP connection to addr from the local IP from (any when empty).
func DialTCP(ctx context.Context, from, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 3 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	return d.DialContext(ctx, "tcp", addr)
}

// Dial connects to addr with key (fresh when nil) and runs the version handshake with v.
func Dial(ctx context.Context, addr string, key *keys.Key, v *message.Version) (*Peer, error) {
	return DialFrom(ctx, "", addr, key, v)
}

// DialFrom is Dial from the local IP from.
func DialFrom(ctx context.Context, from, addr string, key *keys.Key, v *message.Version) (*Peer, error) {
	p, err := DialTLSFrom(ctx, from, addr, key)
	if err != nil {
		return nil, err
	}
	if err := p.Handshake(v); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Handshake exchanges version and verack.
func (p *Peer) Handshake(v *message.Version) error {
	_ = p.Conn.SetDeadline(time.Now().Add(5 * time.Second))
	defer func() { _ = p.Conn.SetDeadline(time.Time{}) }()
	if err := p.Send(v); err != nil {
		return err
	}
	m, _, err := message.Read(p.Conn)
	if err != nil {
		return fmt.Errorf("read version: %w", err)
	}
	if _, ok := m.(*message.Version); !ok {
		return fmt.Errorf("want version, got %s", m.Type())
	}
	if err := p.Send(&message.Verack{}); err != nil {
		return err
	}
	if m, _, err = message.Read(p.Conn); err != nil {
		return fmt.Errorf("read verack: %w", err)
	}
	if _, ok := m.(*message.Verack); !ok {
		return fmt.Errorf("want verack, got %s", m.Type())
	}
	return nil
}

// Send writes one framed message.
func (p *Peer) Send(m message.Message) error {
	return p.SendRaw(message.Encode(m))
}

// SendRaw writes bytes as they are (frames built by hand, broken on purpose, or pre-encoded).
func (p *Peer) SendRaw(b []byte) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	_ = p.Conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := p.Conn.Write(b)
	return err
}

// Read reads the next message, waiting at most d.
func (p *Peer) Read(d time.Duration) (message.Message, error) {
	_ = p.Conn.SetReadDeadline(time.Now().Add(d))
	m, _, err := message.Read(p.Conn)
	return m, err
}

// Expect reads messages for at most d until match accepts one, answering pings on the way, and
// getheaders with no headers (a peer that has nothing to offer), unless match takes them.
func (p *Peer) Expect(d time.Duration, match func(message.Message) bool) (message.Message, error) {
	deadline := time.Now().Add(d)
	for {
		_ = p.Conn.SetReadDeadline(deadline)
		m, _, err := message.Read(p.Conn)
		if err != nil {
			return nil, err
		}
		if match(m) {
			return m, nil
		}
		switch m := m.(type) {
		case *message.Ping:
			_ = p.Send(&message.Pong{Nonce: m.Nonce})
		case *message.GetHeaders:
			_ = p.Send(&message.Headers{})
		}
	}
}

// Settle waits for the getheaders a node sends every new peer and answers it with no headers,
// so that the node does not drop the peer for stalling its header exchange.
func (p *Peer) Settle(d time.Duration) error {
	_, err := p.Expect(d, func(m message.Message) bool {
		if _, ok := m.(*message.GetHeaders); ok {
			_ = p.Send(&message.Headers{})
			return true
		}
		return false
	})
	return err
}

// Serve reads until the connection ends or ctx is done, answering pings and passing every other
// message to handle; when handle is nil, getheaders are answered with no headers. It returns the
// error that ended the connection.
func (p *Peer) Serve(ctx context.Context, handle func(message.Message)) error {
	stop := context.AfterFunc(ctx, func() { _ = p.Conn.SetReadDeadline(time.Now()) })
	defer stop()
	for {
		_ = p.Conn.SetReadDeadline(time.Time{})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m, _, err := message.Read(p.Conn)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if ping, ok := m.(*message.Ping); ok {
			_ = p.Send(&message.Pong{Nonce: ping.Nonce})
			continue
		}
		switch {
		case handle != nil:
			handle(m)
		case m.Type() == message.TypeGetHeaders:
			_ = p.Send(&message.Headers{})
		}
	}
}

// ClosedByRemote reports whether the node closes the connection within d (messages read meanwhile
// are discarded).
func (p *Peer) ClosedByRemote(d time.Duration) bool {
	_ = p.Conn.SetReadDeadline(time.Now().Add(d))
	for {
		if _, _, err := message.Read(p.Conn); err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}

// Close closes the connection.
func (p *Peer) Close() { _ = p.Conn.Close() }
