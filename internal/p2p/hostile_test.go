package p2p_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/node"
	"github.com/chainnet/chainnet/internal/p2p/addrmgr"
	"github.com/chainnet/chainnet/internal/p2p/message"
	"github.com/chainnet/chainnet/internal/p2p/p2ptest"
	"github.com/chainnet/chainnet/internal/wire"
)

// dialRaw opens TLS to target with key (fresh when nil) and, unless version is nil, runs the
// version handshake with it.
func dialRaw(t testing.TB, target *tnode, key *keys.Key, version *message.Version) (*p2ptest.Peer, error) {
	t.Helper()
	if version == nil {
		return p2ptest.DialTLS(context.Background(), target.addr(), key)
	}
	return p2ptest.Dial(context.Background(), target.addr(), key, version)
}

func honestVersion(tn *tnode) *message.Version {
	p := tn.n.Chain().Params()
	return &message.Version{Protocol: message.ProtocolVersion, NetworkID: p.NetworkID, GenesisHash: p.GenesisHash,
		Role: message.RoleValidator, Nonce: 42}
}

// TestHostilePeers: garbage, malformed, oversized and truncated frames, a wrong genesis and an
// inventory flood. The node survives each, scores and bans the offenders, refuses banned keys
// at the TLS handshake, and keeps serving its honest peer.
func TestHostilePeers(t *testing.T) {
	gen := writeGenesis(t)
	target := startNode(t, gen, "")
	honest := startNode(t, gen, "")
	honest.connect(target)
	waitFor(t, 5*time.Second, "honest peer connected", func() bool { return target.srv.PeerCount() == 1 })

	// Plain garbage instead of TLS.
	raw, err := net.Dial("tcp", target.addr())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = raw.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\x13garbage"))
	raw.Close()

	// A wrong genesis is refused at the version handshake.
	v := honestVersion(target)
	v.GenesisHash = wire.Hash{1}
	if _, err := dialRaw(t, target, nil, v); err == nil {
		t.Fatal("a peer with another genesis completed the handshake")
	}
	waitFor(t, 2*time.Second, "wrong-genesis refusal counted", func() bool {
		return metric(t, target, "chainnode_p2p_handshakes_refused_total", "reason", "wrong-genesis") == 1
	})

	frames := map[string][]byte{
		"unknown type": {0xEE, 0, 0, 0, 0, 0x5d, 0xf6, 0xe0, 0xe2},
		"bad checksum": append([]byte{byte(message.TypePing), 8, 0, 0, 0, 1, 2, 3, 4}, make([]byte, 8)...),
		"oversized":    oversizedHeader(),
		"bad payload":  badPayloadFrame(),
	}
	for name, frame := range frames {
		p, err := dialRaw(t, target, nil, honestVersion(target))
		if err != nil {
			t.Fatalf("%s: handshake: %v", name, err)
		}
		if _, err := p.Conn.Write(frame); err != nil {
			t.Fatalf("%s: write: %v", name, err)
		}
		if !p.ClosedByRemote(3 * time.Second) {
			t.Fatalf("%s: the node kept the connection", name)
		}
		// Banned: the same key is refused at the TLS handshake from now on.
		if again, err := dialRaw(t, target, p.Key, honestVersion(target)); err == nil {
			if !again.ClosedByRemote(2 * time.Second) {
				t.Fatalf("%s: a banned key completed a new handshake", name)
			}
		}
	}
	if bans := metric(t, target, "chainnode_p2p_bans_total"); bans < float64(len(frames)) {
		t.Fatalf("want ≥ %d bans, got %v", len(frames), bans)
	}

	// Truncated frame, then the connection drops: a warning, not a ban (it may be the network).
	p, err := dialRaw(t, target, nil, honestVersion(target))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = p.Conn.Write(message.Encode(&message.Ping{Nonce: 1})[:10])
	p.Conn.Close()
	waitFor(t, 2*time.Second, "truncated frame scored", func() bool {
		return metric(t, target, "chainnode_p2p_misbehaviour_total", "reason", "truncated-frame") == 1
	})
	if again, err := dialRaw(t, target, p.Key, honestVersion(target)); err != nil {
		t.Fatalf("a peer whose connection was cut mid-frame must not be banned: %v", err)
	} else {
		again.Conn.Close()
	}

	// Inventory flood: 5 × 50,000 announcements outrun the rate limit.
	p, err = dialRaw(t, target, nil, honestVersion(target))
	if err != nil {
		t.Fatal(err)
	}
	inv := &message.Inv{}
	for i := 0; i < message.MaxInv; i++ {
		var h wire.Hash
		binary.LittleEndian.PutUint64(h[:], uint64(i)+1)
		inv.Items = append(inv.Items, message.InvVect{Type: message.InvTx, Hash: h})
	}
	frame := message.Encode(inv)
	for i := 0; i < 6; i++ {
		if _, err := p.Conn.Write(frame); err != nil {
			break
		}
	}
	if !p.ClosedByRemote(5 * time.Second) {
		t.Fatal("an inv flooder was not disconnected")
	}
	if metric(t, target, "chainnode_p2p_misbehaviour_total", "reason", "inv-flood") < 1 {
		t.Fatal("inv flood not counted")
	}

	// Through all of it the honest peer stayed connected and still gets blocks.
	b := target.mine()
	waitFor(t, 5*time.Second, "honest peer receives the next block", func() bool { return honest.tip() == b.Hash() })
	if target.srv.PeerCount() < 1 {
		t.Fatal("honest peer dropped")
	}
}

func oversizedHeader() []byte {
	f := make([]byte, message.HeaderSize)
	f[0] = byte(message.TypePing)
	binary.LittleEndian.PutUint32(f[1:5], 1<<20)
	return f
}

// badPayloadFrame is a well-checksummed addr frame whose count runs past its payload.
func badPayloadFrame() []byte {
	payload := []byte{0x05} // five addresses, none present
	f := make([]byte, message.HeaderSize, message.HeaderSize+len(payload))
	f[0] = byte(message.TypeAddr)
	binary.LittleEndian.PutUint32(f[1:5], uint32(len(payload)))
	sum := message.Checksum(payload)
	copy(f[5:9], sum[:])
	return append(f, payload...)
}

// TestTxRelaySurvivesInvFlood: a peer announces 10,000 transactions it never delivers, and the
// id of the next honest transaction before anyone else. Relay from the honest peer goes on: its
// new transaction is requested at once, and the one the flooder announced first is asked of the
// honest peer once the flooder's request times out.
func TestTxRelaySurvivesInvFlood(t *testing.T) {
	gen := writeGenesis(t)
	target := startNode(t, gen, "")
	honest := startNode(t, gen, "")
	honest.connect(target)
	waitFor(t, 5*time.Second, "honest peer connected", func() bool { return target.srv.PeerCount() == 1 })
	flooder, err := dialRaw(t, target, nil, honestVersion(target))
	if err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = flooder.Serve(ctx, nil) }()
	inv := &message.Inv{}
	for i := range 10_000 {
		var h wire.Hash
		binary.LittleEndian.PutUint64(h[:], uint64(i)+1)
		inv.Items = append(inv.Items, message.InvVect{Type: message.InvTx, Hash: h})
	}
	alice, bob := chaintest.Key(t, 2), chaintest.Key(t, 3)
	txs := p2ptest.Transfers(target.n.Chain().Params(), alice, bob.AccountAddress(), 2, 0)
	inv.Items = append(inv.Items, message.InvVect{Type: message.InvTx, Hash: txs[1].ID()})
	if err := flooder.Send(inv); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := honest.n.SubmitTx(txs[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "honest tx at the target during the flood", func() bool { return target.n.Mempool().Has(txs[0].ID()) })
	if err := honest.n.SubmitTx(txs[1]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*fast.TxRequest+2*time.Second, "the tx the flooder announced first", func() bool { return target.n.Mempool().Has(txs[1].ID()) })
}

// TestAddrGossipCannotPoisonTable: a peer gossips the bootstrap peer's address under its own
// identity, then 3,000 addresses at once. The pin keeps its identity and the peer's budget (1,000
// addresses, then 0.1 a second) caps what the table takes.
func TestAddrGossipCannotPoisonTable(t *testing.T) {
	gen := writeGenesis(t)
	honest := startNode(t, gen, "")
	target := startNode(t, gen, "", func(c *node.Config) { c.Bootstrap = []string{honest.addr() + "#" + honest.id()} })
	waitFor(t, 5*time.Second, "bootstrap peer connected", func() bool { return target.srv.PeerCount() == 1 })
	p, err := dialRaw(t, target, nil, honestVersion(target))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Settle(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	var own [32]byte
	copy(own[:], p.Key.Public)
	if err := p.Send(&message.Addr{Peers: []message.PeerAddr{{NodeID: own, Addr: honest.addr()}}}); err != nil {
		t.Fatal(err)
	}
	for m := range 3 {
		addr := &message.Addr{}
		for i := range message.MaxAddr {
			pa := message.PeerAddr{Addr: fmt.Sprintf("10.%d.%d.%d:9333", m, i/250, i%250)}
			pa.NodeID[0], pa.NodeID[1], pa.NodeID[2] = byte(m), byte(i), byte(i>>8)
			addr.Peers = append(addr.Peers, pa)
		}
		if err := p.Send(addr); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Send(&message.Ping{Nonce: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Expect(20*time.Second, func(m message.Message) bool { _, ok := m.(*message.Pong); return ok }); err != nil {
		t.Fatalf("no pong after the flood: %v", err)
	}
	records := map[string]addrmgr.Record{}
	err = target.n.Store().ForEachPeer(func(key string, raw []byte) error {
		if strings.HasPrefix(key, "a/") {
			var r addrmgr.Record
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			records[r.Addr] = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := records[honest.addr()]; r.NodeID != honest.id() {
		t.Errorf("the bootstrap pin now names %.8s", r.NodeID)
	}
	if n := len(records); n > message.MaxAddr+1 {
		t.Errorf("the table took %d records from one peer's burst", n)
	}
	if d := metric(t, target, "chainnode_p2p_dropped_total", "what", "addr"); d < 2*message.MaxAddr-10 {
		t.Errorf("%v addresses counted as dropped", d)
	}
}

// TestInboundLimitsHold: 30 silent connections from one address hold at most 8 handshake slots
// (the rest are closed at once); 12 identities completing their handshakes together from one
// address get at most half of the inbound slots (3 of 6), so an honest node from another address
// still connects while they stay.
func TestInboundLimitsHold(t *testing.T) {
	gen := writeGenesis(t)
	target := startNode(t, gen, "", func(c *node.Config) { c.MaxInbound = 6 })
	ctx := context.Background()
	var silent []net.Conn
	for range 30 {
		c, err := p2ptest.DialTCP(ctx, "127.0.0.2", target.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		silent = append(silent, c)
	}
	waitFor(t, 2*time.Second, "silent connections refused", func() bool {
		return metric(t, target, "chainnode_p2p_handshakes_refused_total", "reason", "handshakes-pending-per-ip") >= 22
	})
	if n := metric(t, target, "chainnode_p2p_handshakes_pending"); n > 8 {
		t.Fatalf("%v handshakes pending from one address", n)
	}
	for _, c := range silent {
		c.Close()
	}
	waitFor(t, 2*time.Second, "silent slots released", func() bool { return metric(t, target, "chainnode_p2p_handshakes_pending") == 0 })

	done := make(chan *p2ptest.Peer, 12)
	for range 12 {
		go func() {
			p, err := p2ptest.DialFrom(ctx, "127.0.0.3", target.addr(), nil, honestVersion(target))
			if err == nil && p.Settle(2*time.Second) == nil {
				go func() { _ = p.Serve(ctx, nil) }()
				done <- p
				return
			}
			if p != nil {
				p.Close()
			}
			done <- nil
		}()
	}
	for range 12 {
		if p := <-done; p != nil {
			defer p.Close()
		}
	}
	time.Sleep(200 * time.Millisecond)
	perIP := map[string]int{}
	for _, p := range target.srv.Peers() {
		host, _, _ := net.SplitHostPort(p.Addr)
		perIP[host]++
	}
	if n := target.srv.PeerCount(); n != 3 || perIP["127.0.0.3"] != 3 {
		t.Fatalf("%d inbound peers, by address %v; want the address's share, 3", n, perIP)
	}
	honest := startNode(t, gen, "")
	honest.connect(target)
	waitFor(t, 3*time.Second, "honest node connected", func() bool {
		for _, p := range target.srv.Peers() {
			if p.NodeID == honest.id() {
				return true
			}
		}
		return false
	})
	if n := target.srv.PeerCount(); n != 4 {
		t.Fatalf("%d peers, want the 3 attackers and the honest node", n)
	}
}
