package v1alpha1

// Membership of a consortium or private network is chain state: the genesis names the founding
// organizations (each with an admin key) and a policy, and governance transactions signed by the
// organizations' admin keys change it. The types below are how a cluster takes part: its own
// organizations (spec.organizations, whose admin keys the operator generates and keeps in this
// cluster), the network it founds or joins, and the votes it casts.

// GovernanceSpec is this cluster's part in the network's governance.
type GovernanceSpec struct {
	// Policy of a network founded here, written into its genesis (a joining cluster takes the
	// founder's). Later changes go through a set-policy proposal, never through this field.
	// +optional
	Policy *GovernancePolicy `json:"policy,omitempty"`

	// Proposals this cluster makes, each signed once by Proposer's admin key and approved by
	// every admitted organization of this cluster; status.governance.proposals tells their ids
	// and fate. Adding an organization of this cluster to spec.organizations, or removing one,
	// makes the matching proposal by itself: list here only changes about other clusters'
	// organizations.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Proposals []GovernanceProposal `json:"proposals,omitempty"`

	// Approvals are ids of proposals (status.governance.proposals[].id, or another member's
	// `kubectl chainnet proposals`) that every admitted organization of this cluster approves.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:Pattern=`^[0-9a-f]{64}$`
	// +optional
	Approvals []string `json:"approvals,omitempty"`
}

// GovernancePolicy is the approval policy of a network founded here.
type GovernancePolicy struct {
	// Threshold of member organizations that must approve a change: majority, all, or a number.
	// +kubebuilder:default=majority
	// +kubebuilder:validation:Pattern=`^(majority|all|[1-9][0-9]?)$`
	// +optional
	Threshold string `json:"threshold,omitempty"`
	// ProposalTTLBlocks: a proposal not approved within this many blocks expires.
	// +kubebuilder:default=10000
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	// +optional
	ProposalTTLBlocks int64 `json:"proposalTTLBlocks,omitempty"`
	// ActivationDelayBlocks between a change's approval and its effect.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	// +optional
	ActivationDelayBlocks int64 `json:"activationDelayBlocks,omitempty"`
}

// GovernanceProposal is a change this cluster proposes.
// +kubebuilder:validation:XValidation:rule="has(self.addOrganization) != has(self.removeOrganization)",message="spec.governance.proposals[]: set exactly one of addOrganization and removeOrganization"
type GovernanceProposal struct {
	// Name identifies the proposal in this list (a DNS label).
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Proposer is the organization of this cluster that signs the proposal; default: the first
	// admitted one.
	// +optional
	Proposer string `json:"proposer,omitempty"`
	// AddOrganization admits an organization: its public identity, as its cluster's
	// `kubectl chainnet join-request` prints it.
	// +optional
	AddOrganization *OrganizationIdentity `json:"addOrganization,omitempty"`
	// RemoveOrganization removes a member organization.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	RemoveOrganization string `json:"removeOrganization,omitempty"`
}

// OrganizationIdentity is an organization's public identity: what the members admit. It holds
// public keys only: the private keys never leave the organization's cluster.
type OrganizationIdentity struct {
	// Name of the organization.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// AdminKey signs its governance transactions (64 hex digits).
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{64}$`
	AdminKey string `json:"adminKey"`
	// Validators and Observers are its nodes' identities (node ids).
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:Pattern=`^[0-9a-f]{64}$`
	// +optional
	Validators []string `json:"validators,omitempty"`
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:Pattern=`^[0-9a-f]{64}$`
	// +optional
	Observers []string `json:"observers,omitempty"`
	// Miners are the keys whose blocks are valid once it is admitted.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:Pattern=`^[0-9a-f]{64}$`
	// +optional
	Miners []string `json:"miners,omitempty"`
	// Endpoints are P2P addresses of its nodes other members can dial (host:port#nodeId).
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Endpoints []string `json:"endpoints,omitempty"`
}

// JoinSpec names the network a joining cluster's organizations belong to.
// +kubebuilder:validation:XValidation:rule="has(self.genesis) != has(self.genesisConfigMap)",message="spec.join: set exactly one of genesis and genesisConfigMap"
type JoinSpec struct {
	// Genesis is the network's genesis file, inline (`kubectl chainnet export-genesis` on a
	// member's cluster prints it).
	// +kubebuilder:validation:MaxLength=262144
	// +optional
	Genesis string `json:"genesis,omitempty"`
	// GenesisConfigMap holds the genesis file under the key genesis.json.
	// +optional
	GenesisConfigMap string `json:"genesisConfigMap,omitempty"`
	// GenesisHash pins the network: a genesis file with another hash is refused.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{64}$`
	GenesisHash string `json:"genesisHash"`
	// BootstrapPeers are members' nodes in other clusters (host:port#nodeId) the nodes dial.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	BootstrapPeers []string `json:"bootstrapPeers"`
}

// P2PExposure says how other clusters reach this cluster's nodes.
// +kubebuilder:validation:Enum=None;NodePort;LoadBalancer
type P2PExposure string

const (
	// P2PExposureNone: the P2P port is reached inside the cluster only.
	P2PExposureNone P2PExposure = "None"
	// P2PExposureNodePort: a NodePort Service per node.
	P2PExposureNodePort P2PExposure = "NodePort"
	// P2PExposureLoadBalancer: a LoadBalancer Service per node.
	P2PExposureLoadBalancer P2PExposure = "LoadBalancer"
)

// P2PSpec makes the nodes reachable from other clusters.
type P2PSpec struct {
	// Expose gives every node a stable endpoint other clusters can dial: a NodePort or a
	// LoadBalancer Service of its own. Its address is in status.governance.endpoints and in the
	// join request.
	// +kubebuilder:default=None
	// +optional
	Expose P2PExposure `json:"expose,omitempty"`
	// AdvertiseHost is the host other clusters use with a node's NodePort (a node address or a
	// DNS name that reaches the cluster's nodes); default: the IP of the node the pod runs on.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	AdvertiseHost string `json:"advertiseHost,omitempty"`
	// AllowedCIDRs are the other members' clusters: the NetworkPolicy admits them to the P2P
	// port.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	AllowedCIDRs []string `json:"allowedCIDRs,omitempty"`
}

// ConditionAdmitted (permissioned networks): the chain lists every organization of this cluster.
const ConditionAdmitted = "Admitted"

// GovernanceStatus is the on-chain membership as the nodes of this cluster see it.
type GovernanceStatus struct {
	// Height of the tip the membership was read at, and Seq, the number of membership changes
	// on the chain up to it.
	// +optional
	Height int64 `json:"height,omitempty"`
	// +optional
	Seq int64 `json:"seq,omitempty"`
	// Organizations the chain lists.
	// +listType=map
	// +listMapKey=name
	// +optional
	Organizations []MemberOrganization `json:"organizations,omitempty"`
	// Proposals open on the chain, and approved ones waiting for their activation height.
	// +listType=map
	// +listMapKey=id
	// +optional
	Proposals []ProposalStatus `json:"proposals,omitempty"`
	// Local are this cluster's organizations' public identities: what `kubectl chainnet
	// join-request` prints for the other members.
	// +listType=map
	// +listMapKey=name
	// +optional
	Local []OrganizationIdentity `json:"local,omitempty"`
	// Declared records what became of each spec.governance.proposals entry. An entry whose
	// proposal was decided (Enacted, Expired) or was never needed (Unnecessary) is not proposed
	// again, whatever the membership does later: a declaration is a vote cast once, not a state
	// the operator keeps enforcing.
	// +listType=map
	// +listMapKey=name
	// +optional
	Declared []DeclaredProposal `json:"declared,omitempty"`
	// LastTransaction is the last governance transaction this cluster submitted, and why.
	// +optional
	LastTransaction string `json:"lastTransaction,omitempty"`
}

// Fates of a declared proposal.
const (
	// DeclaredProposed: submitted, not yet seen open on the chain.
	DeclaredProposed = "Proposed"
	// DeclaredOpen: open on the chain, collecting approvals.
	DeclaredOpen = "Open"
	// DeclaredEnacted: its change took effect.
	DeclaredEnacted = "Enacted"
	// DeclaredExpired: it left the chain without taking effect.
	DeclaredExpired = "Expired"
	// DeclaredUnnecessary: the change already held when the entry was first seen.
	DeclaredUnnecessary = "Unnecessary"
)

// DeclaredProposal is the fate of one spec.governance.proposals entry.
type DeclaredProposal struct {
	// Name of the spec entry.
	Name string `json:"name"`
	// ID of the proposal made for it.
	// +optional
	ID string `json:"id,omitempty"`
	// State: Proposed, Open, Enacted, Expired or Unnecessary.
	State string `json:"state"`
	// Height of the tip when it was proposed.
	// +optional
	Height int64 `json:"height,omitempty"`
}

// MemberOrganization is an organization the chain lists.
type MemberOrganization struct {
	Name string `json:"name"`
	// Validators, Observers and Miners count its keys on the chain.
	Validators int32 `json:"validators"`
	Observers  int32 `json:"observers"`
	Miners     int32 `json:"miners"`
	// Local is true for an organization of this cluster.
	// +optional
	Local bool `json:"local,omitempty"`
}

// ProposalStatus is a proposal on the chain.
type ProposalStatus struct {
	// ID is the id of the transaction that proposed it.
	ID string `json:"id"`
	// Name is the spec.governance.proposals entry it answers, if this cluster made it.
	// +optional
	Name string `json:"name,omitempty"`
	// Kind: add-org, remove-org or set-policy.
	Kind string `json:"kind"`
	// +optional
	Organization string `json:"organization,omitempty"`
	// Approvals are the organizations that approved; Needed how many the policy asks for.
	// +optional
	Approvals []string `json:"approvals,omitempty"`
	Needed    int32    `json:"needed"`
	// ExpiresAt is the last height at which it can be approved.
	ExpiresAt int64 `json:"expiresAt"`
	// Approved proposals wait for EffectiveAt.
	// +optional
	Approved bool `json:"approved,omitempty"`
	// +optional
	EffectiveAt int64 `json:"effectiveAt,omitempty"`
}
