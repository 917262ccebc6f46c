package p2p

import (
	"fmt"

	"github.com/chainnet/chainnet/internal/permissions"
)

// admit decides, inside the TLS handshake (both ways), whether a key may connect: never
// ourselves, never a banned key, and on permissioned networks only listed members, with
// observers attached to validators only. expectID, when the address came with one, must match.
func (s *Server) admit(id NodeID, outbound bool, expectID string) error {
	if id == s.self {
		return errSelf
	}
	if expectID != "" && expectID != id.String() {
		return fmt.Errorf("%w: expected node %.8s, got %s", ErrNotAdmitted, expectID, id.Short())
	}
	if b, banned := s.addrs.Banned(id.String()); banned {
		return fmt.Errorf("%w: node %s is banned until %s (%s)", ErrNotAdmitted, id.Short(), b.Until.Format("2006-01-02T15:04:05Z07:00"), b.Reason)
	}
	if s.cfg.Permissions == nil {
		return nil
	}
	m, ok := s.cfg.Permissions.Current().Lookup(id)
	if !ok {
		return fmt.Errorf("%w: node %s is not in the permission file", ErrNotAdmitted, id.Short())
	}
	if s.cfg.Role == RoleObserver && m.Role == RoleObserver {
		return fmt.Errorf("%w: observers connect to validators only (%s is an observer)", ErrNotAdmitted, id.Short())
	}
	return nil
}

// permissionsChanged applies a reloaded permission file: the chain's miner policy follows the
// watcher already; connected peers that lost membership, or whose role or organization changed,
// are disconnected. The others are asked for their chain again: blocks refused under the previous
// file (a new member's miner) may be valid now, and nothing else would fetch them again until the
// next block is announced.
func (s *Server) permissionsChanged(set *permissions.Set) {
	for _, p := range s.peerList() {
		m, ok := set.Lookup(p.id)
		switch {
		case !ok:
			s.log.Warn("disconnecting a peer removed from the permission file", "peer", p.id.Short(), "version", set.Version)
			p.disconnect("removed from the permission file")
		case roleCode(m.Role) != p.version.Role || m.Org != p.version.Org:
			p.disconnect("role or organization changed in the permission file")
		case s.cfg.Role == RoleObserver && m.Role == RoleObserver:
			p.disconnect("observers connect to validators only")
		default:
			s.sync.startHeaders(p)
		}
	}
}
