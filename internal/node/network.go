package node

import (
	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/p2p"
	"github.com/chainnet/chainnet/internal/permissions"
	"github.com/chainnet/chainnet/internal/store"
)

// Store returns the node's store (the P2P layer keeps its peer table there).
func (n *Node) Store() *store.DB { return n.db }

// AttachP2P builds the P2P network from the node's configuration and plugs it in; timing may be
// zero for the defaults. With --permissions it loads the permission file (a hint of whom to dial,
// and whom to admit while behind; membership itself is chain state), which the network then
// reloads on change.
func (n *Node) AttachP2P(timing p2p.Timing) (*p2p.Server, error) {
	if timing.PingInterval == 0 {
		timing.PingInterval = n.cfg.PingInterval
	}
	if timing.IdleTimeout == 0 {
		timing.IdleTimeout = n.cfg.PeerTimeout
	}
	var watcher *permissions.Watcher
	if n.cfg.PermissionsPath != "" {
		var err error
		if watcher, err = permissions.NewWatcher(n.cfg.PermissionsPath, n.log); err != nil {
			return nil, err
		}
		n.metrics.PermissionsVer.Set(float64(watcher.Current().Version))
		watcher.OnChange(func(s *permissions.Set) { n.metrics.PermissionsVer.Set(float64(s.Version)) })
	}
	srv, err := p2p.New(n, p2p.Config{
		Key: n.nodeKey, Role: n.cfg.Role, Org: n.cfg.Org, ListenAddr: n.cfg.P2PAddr, AdvertiseAddr: n.cfg.AdvertiseAddr,
		DNSSeeds: n.cfg.DNSSeeds, Bootstrap: n.cfg.Bootstrap, MaxOutbound: n.cfg.MaxOutbound, MaxInbound: n.cfg.MaxInbound,
		Permissions: watcher, Store: n.db, Registry: n.metrics.Registry, Logger: n.log, Timing: timing,
	})
	if err != nil {
		return nil, err
	}
	n.permissions = watcher
	n.SetNetwork(srv)
	return srv, nil
}

// peerLister is implemented by networks that can list their peers.
type peerLister interface{ Peers() []p2p.PeerInfo }

// Peers lists the connected peers for the API.
func (n *Node) Peers() []api.Peer {
	l, ok := n.net().(peerLister)
	if !ok {
		return []api.Peer{}
	}
	infos := l.Peers()
	out := make([]api.Peer, 0, len(infos))
	for _, p := range infos {
		out = append(out, api.Peer{NodeID: p.NodeID, Addr: p.Addr, Inbound: p.Inbound, Role: p.Role, Org: p.Org,
			BestHeight: p.BestHeight, BanScore: p.BanScore, RTTSeconds: p.RTT.Seconds()})
	}
	return out
}
