package governance

import (
	"bytes"
	"fmt"

	"github.com/chainnet/chainnet/internal/wire"
)

// ActionType is the first byte of a governance transaction's payload.
type ActionType uint8

const (
	// ActionPropose proposes a change (add-org, remove-org, set-policy); the proposer's
	// organization approves it by proposing.
	ActionPropose ActionType = 1
	// ActionApprove adds the signer's organization to a proposal's approvals.
	ActionApprove ActionType = 2
	// ActionUpdateOrg changes the signer's own organization: its nodes, miner keys or admin key.
	// No vote: an organization manages its own keys, within the policy's limits.
	ActionUpdateOrg ActionType = 3
)

// OrgUpdate is an organization's change to itself. Removals apply before additions, so one
// update rotates a key (remove the old, add the new).
type OrgUpdate struct {
	AddValidators    []Key `json:"addValidators,omitempty"`
	RemoveValidators []Key `json:"removeValidators,omitempty"`
	AddObservers     []Key `json:"addObservers,omitempty"`
	RemoveObservers  []Key `json:"removeObservers,omitempty"`
	AddMiners        []Key `json:"addMiners,omitempty"`
	RemoveMiners     []Key `json:"removeMiners,omitempty"`
	// NewAdminKey, when set, replaces the organization's admin key.
	NewAdminKey *Key `json:"newAdminKey,omitempty"`
}

// Action is a decoded governance transaction payload.
type Action struct {
	Type ActionType
	// Propose: the kind and its argument.
	Kind         Kind
	Organization string        // remove-org: the organization to remove
	Add          *Organization // add-org
	Policy       *Policy       // set-policy
	// Approve: the proposal.
	Proposal wire.Hash
	// UpdateOrg: the change.
	Update *OrgUpdate
}

// ProposeAddOrg is an action proposing org as a member.
func ProposeAddOrg(org Organization) *Action {
	return &Action{Type: ActionPropose, Kind: KindAddOrg, Organization: org.Name, Add: &org}
}

// ProposeRemoveOrg is an action proposing the removal of a member.
func ProposeRemoveOrg(name string) *Action {
	return &Action{Type: ActionPropose, Kind: KindRemoveOrg, Organization: name}
}

// ProposeSetPolicy is an action proposing a new policy.
func ProposeSetPolicy(p Policy) *Action {
	return &Action{Type: ActionPropose, Kind: KindSetPolicy, Policy: &p}
}

// Approve is an action approving a proposal.
func Approve(id wire.Hash) *Action { return &Action{Type: ActionApprove, Proposal: id} }

// UpdateOrg is an action changing the signer's own organization.
func UpdateOrg(u OrgUpdate) *Action { return &Action{Type: ActionUpdateOrg, Update: &u} }

// Encode returns the payload bytes.
func (a *Action) Encode() []byte {
	w := wire.NewWriter(nil)
	w.U8(uint8(a.Type))
	switch a.Type {
	case ActionPropose:
		w.U8(kindCodes[a.Kind])
		switch a.Kind {
		case KindAddOrg:
			writeOrg(w, a.Add)
		case KindRemoveOrg:
			w.String(a.Organization, maxNameLen)
		case KindSetPolicy:
			writePolicy(w, a.Policy)
		}
	case ActionApprove:
		w.Bytes(a.Proposal[:])
	case ActionUpdateOrg:
		u := a.Update
		for _, l := range [][]Key{u.AddValidators, u.RemoveValidators, u.AddObservers, u.RemoveObservers, u.AddMiners, u.RemoveMiners} {
			writeKeys(w, l)
		}
		if u.NewAdminKey != nil {
			w.U8(1)
			w.Bytes(u.NewAdminKey[:])
		} else {
			w.U8(0)
		}
	}
	return w.Output()
}

// ErrMalformed is wrapped by every payload decoding error.
var ErrMalformed = fmt.Errorf("malformed governance action")

// DecodeAction decodes a payload strictly: unknown types, trailing bytes and anything that would
// re-encode differently are refused, so one action has one encoding (and one transaction id).
func DecodeAction(payload []byte) (*Action, error) {
	r := wire.NewReader(payload)
	a := &Action{Type: ActionType(r.U8())}
	switch a.Type {
	case ActionPropose:
		code := r.U8()
		kind, ok := kindOf(code)
		if !ok {
			return nil, fmt.Errorf("%w: proposal kind %d", ErrMalformed, code)
		}
		a.Kind = kind
		switch kind {
		case KindAddOrg:
			o := readOrg(r)
			a.Add, a.Organization = &o, o.Name
		case KindRemoveOrg:
			a.Organization = r.String(maxNameLen)
		case KindSetPolicy:
			p := readPolicy(r)
			a.Policy = &p
		}
	case ActionApprove:
		r.Array(a.Proposal[:])
	case ActionUpdateOrg:
		u := &OrgUpdate{}
		for _, l := range []*[]Key{&u.AddValidators, &u.RemoveValidators, &u.AddObservers, &u.RemoveObservers, &u.AddMiners, &u.RemoveMiners} {
			*l = readKeys(r)
		}
		if readFlag(r) {
			var k Key
			r.Array(k[:])
			u.NewAdminKey = &k
		}
		a.Update = u
	default:
		return nil, fmt.Errorf("%w: action type %d", ErrMalformed, a.Type)
	}
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !bytes.Equal(a.Encode(), payload) {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrMalformed)
	}
	return a, nil
}

// String describes the action for logs and errors.
func (a *Action) String() string {
	switch a.Type {
	case ActionPropose:
		if a.Kind == KindSetPolicy {
			return "propose set-policy"
		}
		return fmt.Sprintf("propose %s %s", a.Kind, a.Organization)
	case ActionApprove:
		return "approve " + a.Proposal.String()
	case ActionUpdateOrg:
		return "update-org"
	}
	return fmt.Sprintf("action %d", a.Type)
}
