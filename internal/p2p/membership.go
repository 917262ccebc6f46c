package p2p

import (
	"fmt"
	"time"

	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/p2p/addrmgr"
)

// Who may connect on a permissioned network follows the chain: a node identity is a member if the
// membership after our tip (chain.Membership) lists it, with its role and organization. Nothing
// else admits a peer once we are caught up.
//
// A node that is behind cannot know the members admitted after its tip, and may need exactly them
// to catch up (every founder gone, say). While our tip is older than Timing.CatchUp, identities
// that the permission file (--permissions, written by the operator from the current membership)
// lists are admitted too, provisionally. This cannot be abused to change what is valid: a
// provisional peer is only a source of blocks and headers, and every one of them is validated
// against the chain (a block under the membership after its parent); it never decides a block. The
// file is the node's own configuration, so only its operator can widen it. Once our tip is recent,
// provisional peers that the chain does not list are disconnected (enforceMembership).

// member is what we know of a node identity: its role and organization, and whether only the
// permission file's hint vouches for it.
type member struct {
	governance.Member
	provisional bool
}

// resolve returns the member a node identity is, or false if it may not connect.
func (s *Server) resolve(id NodeID) (member, bool) {
	st := s.chain.Membership()
	if st == nil {
		return member{}, true // a public network: anyone
	}
	if m, ok := st.Node(governance.Key(id)); ok {
		return member{Member: m}, true
	}
	if s.cfg.Permissions == nil || !s.behind() {
		return member{}, false
	}
	if m, ok := s.cfg.Permissions.Current().Lookup(id); ok {
		return member{Member: governance.Member{Org: m.Org, Role: m.Role}, provisional: true}, true
	}
	return member{}, false
}

// behind reports whether our tip is older than Timing.CatchUp: we are syncing, or the network
// has stalled. It decides connections only, never the validity of a block.
func (s *Server) behind() bool {
	tip := s.chain.Tip()
	return time.Since(time.Unix(int64(tip.Header.Timestamp), 0)) > s.cfg.Timing.CatchUp
}

// otherIdentity: the node at a dialled address is not the one the peer table expected there.
type otherIdentity struct {
	want string
	got  NodeID
}

func (e *otherIdentity) Error() string {
	return fmt.Sprintf("expected node %.8s, got %s", e.want, e.got.Short())
}

func (e *otherIdentity) Unwrap() error { return ErrNotAdmitted }

// admit decides, inside the TLS handshake (both ways), whether a key may connect: never
// ourselves, never a banned key, and on permissioned networks only members, with observers
// attached to validators only. expectID, when the address came with one, must match.
func (s *Server) admit(id NodeID, outbound bool, expectID string) error {
	if id == s.self {
		return errSelf
	}
	if expectID != "" && expectID != id.String() {
		return &otherIdentity{want: expectID, got: id}
	}
	if b, banned := s.addrs.Banned(id.String()); banned {
		return fmt.Errorf("%w: node %s is banned until %s (%s)", ErrNotAdmitted, id.Short(), b.Until.Format("2006-01-02T15:04:05Z07:00"), b.Reason)
	}
	m, ok := s.resolve(id)
	if !ok {
		return fmt.Errorf("%w: node %s is not a member at height %d", ErrNotAdmitted, id.Short(), s.chain.Tip().Height)
	}
	if s.cfg.Role == RoleObserver && m.Role == RoleObserver {
		return fmt.Errorf("%w: observers connect to validators only (%s is an observer)", ErrNotAdmitted, id.Short())
	}
	return nil
}

// checkMember checks, after the version exchange, that the role and organization a peer claims
// are what the membership says.
func (s *Server) checkMember(id NodeID, role uint8, org string) error {
	if s.chain.Membership() == nil {
		return nil
	}
	m, ok := s.resolve(id)
	if !ok {
		return refuse("not-member", "node %s is not a member", id.Short())
	}
	if roleCode(m.Role) != role || m.Org != org {
		return refuse("wrong-role", "node %s claims role %d of %q; the membership says %s of %q", id.Short(), role, org, m.Role, m.Org)
	}
	return nil
}

// memberRecord reports whether a peer-table record may leave this node in addr messages: on a
// permissioned network only members the chain lists (a provisional peer is our business alone).
func (s *Server) memberRecord(r addrmgr.Record) bool {
	st := s.chain.Membership()
	if st == nil {
		return true
	}
	id, err := addrmgr.ParseNodeID(r.NodeID)
	if err != nil {
		return false
	}
	_, ok := st.Node(governance.Key(id))
	return ok
}

// enforceMembership disconnects connected peers that may no longer be: removed from the
// membership, their role or organization changed, or provisional while we are caught up. Called
// when the membership after our tip changes, when the permission file is reloaded, and on every
// connection manager round (a provisional peer's time ends when our tip becomes recent).
func (s *Server) enforceMembership() {
	if s.chain.Membership() == nil {
		return
	}
	for _, p := range s.peerList() {
		m, ok := s.resolve(p.id)
		switch {
		case !ok:
			s.log.Info("disconnecting a peer that is not a member at our tip", "peer", p.id.Short(), "height", s.chain.Tip().Height)
			p.disconnect("not a member")
		case roleCode(m.Role) != p.version.Role || m.Org != p.version.Org:
			p.disconnect("role or organization changed")
		case s.cfg.Role == RoleObserver && m.Role == RoleObserver:
			p.disconnect("observers connect to validators only")
		}
	}
}

// ownMembership logs what the membership says of this node at start. A node that is not (yet) a
// member still starts: an organization joining a network runs its nodes before the members'
// approval reaches the chain, syncing from the members that already admit it.
func (s *Server) ownMembership() {
	st := s.chain.Membership()
	if st == nil {
		return
	}
	m, ok := s.resolve(s.self)
	switch {
	case !ok:
		s.log.Warn("this node is not a member at our tip: members admitted later will accept it once the chain says so",
			"node_id", s.self.String(), "height", s.chain.Tip().Height)
	case m.Role != s.cfg.Role || (s.cfg.Org != "" && m.Org != s.cfg.Org):
		s.log.Warn("the membership lists this node with another role or organization", "listed_role", m.Role,
			"listed_org", m.Org, "role", s.cfg.Role, "org", s.cfg.Org)
	}
	if s.cfg.Org == "" && ok {
		s.cfg.Org = m.Org
	}
}
