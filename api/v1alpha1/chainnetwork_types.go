package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Membership says who may join a network.
// +kubebuilder:validation:Enum=public;consortium;private
type Membership string

const (
	// Public: anyone may connect and mine.
	Public Membership = "public"
	// Consortium: only the listed organizations' nodes connect and only their miners produce blocks.
	Consortium Membership = "consortium"
	// Private: a consortium of one organization.
	Private Membership = "private"
)

// MaxNodesPerRole bounds validators (and observers) per organization: each StatefulSet mounts
// one optional key Secret per possible ordinal, so scaling never changes the pod template.
const MaxNodesPerRole = 32

// ChainNetworkSpec is the desired network.
// +kubebuilder:validation:XValidation:rule="self.membership != 'private' || size(self.organizations) == 1",message="spec.organizations: private networks have exactly one organization",fieldPath=".organizations"
// +kubebuilder:validation:XValidation:rule="self.organizations.exists(o, o.validators > 0)",message="spec.organizations: at least one validator is required to mine",fieldPath=".organizations"
// +kubebuilder:validation:XValidation:rule="self.membership == 'public' || self.organizations.all(o, o.name != 'default')",message="spec.organizations[].name: consortium and private organizations must be named",fieldPath=".organizations"
// +kubebuilder:validation:XValidation:rule="self.membership != 'public' || !has(self.externalPeers) || self.externalPeers.all(p, !has(p.organization))",message="spec.externalPeers[].organization: only permissioned networks have organizations",fieldPath=".externalPeers"
// +kubebuilder:validation:XValidation:rule="self.membership != 'public' || (!has(self.governance) && !has(self.join))",message="spec.governance: a public network has no governance: anyone may join and mine",fieldPath=".governance"
// +kubebuilder:validation:XValidation:rule="has(oldSelf.join) == has(self.join)",message="spec.join: a network cannot start or stop being joined: it names the chain this cluster's organizations belong to",fieldPath=".join"
type ChainNetworkSpec struct {
	// Membership is public, consortium or private. It cannot change after creation.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.membership is immutable"
	Membership Membership `json:"membership"`

	// Organizations run the nodes: each gets one StatefulSet of validators (mining nodes) and one
	// of observers (non-mining nodes that follow the chain and serve reads). A public network may
	// use a single organization named "default".
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Organizations []Organization `json:"organizations"`

	// Consensus parameters. They are part of the genesis, so they cannot change after creation.
	// +kubebuilder:default={}
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.consensus is immutable: the chain's identity (its genesis hash) depends on it"
	// +optional
	Consensus Consensus `json:"consensus"`

	// Genesis allocations. Immutable, like Consensus.
	// +kubebuilder:default={}
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.genesis is immutable: the chain's identity (its genesis hash) depends on it"
	// +optional
	Genesis GenesisSpec `json:"genesis"`

	// Image of chainnode.
	// +kubebuilder:default="chainnet/chainnode:0.1.0"
	// +kubebuilder:validation:MinLength=1
	// +optional
	Image string `json:"image,omitempty"`

	// ImagePullPolicy of the node containers.
	// +kubebuilder:default=IfNotPresent
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// Service exposes the nodes' HTTP API to clients.
	// +kubebuilder:default={}
	// +optional
	Service ServiceSpec `json:"service"`

	// ExternalPeers are nodes outside this cluster (a consortium spread over several clusters):
	// they are added as bootstrap peers and, in permissioned networks, as members of their
	// organization; NetworkPolicies admit them to the P2P port.
	// +listType=map
	// +listMapKey=nodeId
	// +kubebuilder:validation:MaxItems=64
	// +optional
	ExternalPeers []ExternalPeer `json:"externalPeers,omitempty"`

	// Monitoring integrations.
	// +optional
	Monitoring Monitoring `json:"monitoring,omitempty"`

	// Upgrades schedule image changes at block heights, for changes every node must make at the
	// same block (a consensus rule): every node is started with --halt-height at the next
	// upgrade's height, connects and mines nothing above it, and once every node has reached it
	// the nodes roll to its image and go on. Applied upgrades are recorded in
	// status.upgradedHeight; the image of the last applied one replaces spec.image.
	// +listType=map
	// +listMapKey=height
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Upgrades []ScheduledUpgrade `json:"upgrades,omitempty"`

	// KeyRotations ask for new keys for nodes: a new P2P identity and a new miner key, without
	// losing the chain. An entry is identified by node and id; add one with a new id to rotate
	// the same node again. Rotations run one at a time per network (a Lease), in order; their
	// progress is in status.keyRotations.
	// +listType=map
	// +listMapKey=node
	// +listMapKey=id
	// +kubebuilder:validation:MaxItems=64
	// +optional
	KeyRotations []KeyRotation `json:"keyRotations,omitempty"`

	// Snapshots take VolumeSnapshots of a synced validator's volume on a schedule; new nodes'
	// volumes are restored from the latest ready one and sync only the rest. Needs a CSI driver
	// with snapshot support and the snapshot.storage.k8s.io/v1 CRDs (an event says when they
	// are missing).
	// +optional
	Snapshots *SnapshotSpec `json:"snapshots,omitempty"`

	// SelfHealing repairs nodes the network cannot count on: a node that lags behind the best
	// height is restarted, and a node whose store is corrupt is re-seeded from its peers.
	// +kubebuilder:default={}
	// +optional
	SelfHealing SelfHealing `json:"selfHealing,omitempty"`

	// Governance (consortium and private networks): the policy of a network founded here and the
	// votes this cluster's organizations cast. Membership is chain state, changed only by
	// governance transactions the organizations' admin keys sign; the operator signs with the
	// admin keys of this cluster's organizations, which never leave it.
	// +optional
	Governance *GovernanceSpec `json:"governance,omitempty"`

	// Join makes this cluster's organizations members of a network founded in another cluster:
	// its genesis (pinned by hash) and nodes to dial. Without it the network is founded here,
	// its genesis built from this spec. The members admit the joining organizations by a
	// governance vote; until then status shows Admitted=False/AwaitingAdmission.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.join is immutable"
	// +optional
	Join *JoinSpec `json:"join,omitempty"`

	// P2P makes the nodes reachable from other clusters (a consortium whose members run their
	// own clusters).
	// +kubebuilder:default={}
	// +optional
	P2P P2PSpec `json:"p2p,omitempty"`

	// Paused stops reconciliation (status included) until it is false again.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// Organization is one member of the network and its nodes.
type Organization struct {
	// Name of the organization: a DNS label of at most 20 characters.
	// +kubebuilder:default=default
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=20
	Name string `json:"name"`

	// Validators is the number of mining nodes.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=32
	// +kubebuilder:default=1
	// +optional
	Validators int32 `json:"validators"`

	// Observers is the number of non-mining nodes; they attach to validators, their own
	// organization's first.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=32
	// +optional
	Observers int32 `json:"observers,omitempty"`

	// MinerThreads per validator.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=64
	// +kubebuilder:default=1
	// +optional
	MinerThreads int32 `json:"minerThreads,omitempty"`

	// Resources of each node container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// Storage of each node's chain data.
	// +kubebuilder:default={}
	// +optional
	Storage StorageSpec `json:"storage"`

	// NodeSelector, Tolerations and Affinity schedule the organization's pods. Without an
	// affinity, pods of one StatefulSet prefer different nodes.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
}

// StorageSpec sizes the PersistentVolumeClaim of each node. The StatefulSets' claim templates
// cannot change once created: the class is fixed, and a larger size grows the existing claims
// in place (the class must allow volume expansion). Claims are never shrunk: a smaller size
// changes nothing. (A CEL rule comparing quantities exceeds the CRD cost budget: int-or-string
// values have no length bound.)
// +kubebuilder:validation:XValidation:rule="has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",message="storage.storageClassName is immutable: existing claims keep their class"
type StorageSpec struct {
	// Size of each node's volume. Raising it expands the existing claims in place; lowering it
	// shrinks nothing.
	// +kubebuilder:default="1Gi"
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`
	// StorageClassName of the claims; empty: the cluster's default class. Immutable.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
	// AutoGrow expands a node's claim in place when its volume fills (the storage class must
	// allow volume expansion).
	// +optional
	AutoGrow *AutoGrow `json:"autoGrow,omitempty"`
}

// AutoGrow grows volumes by half their size, one step at a time, up to MaxSize.
type AutoGrow struct {
	// UsedPercent of the volume at which it grows.
	// +kubebuilder:default=80
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=99
	// +optional
	UsedPercent int32 `json:"usedPercent,omitempty"`
	// MaxSize caps the growth.
	// +required
	MaxSize resource.Quantity `json:"maxSize"`
}

// Consensus holds the chain's consensus parameters (see the node contract).
type Consensus struct {
	// TargetBlockTimeSeconds the difficulty retarget aims at.
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600
	// +optional
	TargetBlockTimeSeconds int64 `json:"targetBlockTimeSeconds,omitempty"`
	// InitialDifficulty is the expected number of hashes for the first blocks.
	// +kubebuilder:default=20000000
	// +kubebuilder:validation:Minimum=1
	// +optional
	InitialDifficulty int64 `json:"initialDifficulty,omitempty"`
	// BlockReward in base units, halved every HalvingInterval blocks.
	// +kubebuilder:default=5000000000
	// +kubebuilder:validation:Minimum=0
	// +optional
	BlockReward int64 `json:"blockReward,omitempty"`
	// HalvingInterval in blocks.
	// +kubebuilder:default=210000
	// +kubebuilder:validation:Minimum=1
	// +optional
	HalvingInterval int64 `json:"halvingInterval,omitempty"`
	// MaxBlockSize in bytes.
	// +kubebuilder:default=1048576
	// +kubebuilder:validation:Minimum=4096
	// +kubebuilder:validation:Maximum=33554432
	// +optional
	MaxBlockSize int64 `json:"maxBlockSize,omitempty"`
}

// GenesisSpec holds the genesis allocations.
type GenesisSpec struct {
	// Alloc funds accounts in the genesis block.
	// +listType=map
	// +listMapKey=address
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Alloc []Alloc `json:"alloc,omitempty"`
}

// Alloc is one genesis balance.
type Alloc struct {
	// Address is a 40-hex-digit account address.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{40}$`
	Address string `json:"address"`
	// Balance in base units.
	// +kubebuilder:validation:Minimum=1
	Balance int64 `json:"balance"`
}

// ServiceSpec shapes the client Service.
type ServiceSpec struct {
	// Type of the client Service.
	// +kubebuilder:default=ClusterIP
	// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
	// +optional
	Type corev1.ServiceType `json:"type,omitempty"`
	// APIPort is the HTTP API port.
	// +kubebuilder:default=8545
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	APIPort int32 `json:"apiPort,omitempty"`
	// P2PPort is the peer-to-peer port.
	// +kubebuilder:default=9333
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	P2PPort int32 `json:"p2pPort,omitempty"`
	// Annotations of the client Service (e.g. for a cloud load balancer).
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ExternalPeer is a node outside the cluster.
type ExternalPeer struct {
	// Address is host:port of its P2P endpoint.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}$`
	Address string `json:"address"`
	// NodeID is its 64-hex-digit public key.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{64}$`
	NodeID string `json:"nodeId"`
	// Organization it belongs to (permissioned networks); it is listed as a validator of it.
	// +optional
	Organization string `json:"organization,omitempty"`
	// MinerKey is its 64-hex-digit miner key, listed among its organization's miners.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{64}$`
	// +optional
	MinerKey string `json:"minerKey,omitempty"`
	// CIDR the peer connects from, admitted by the NetworkPolicy (e.g. 203.0.113.7/32).
	// +optional
	CIDR string `json:"cidr,omitempty"`
}

// SnapshotSpec schedules volume snapshots.
type SnapshotSpec struct {
	// Schedule in cron format (five fields, UTC), e.g. "0 */6 * * *".
	// +kubebuilder:validation:Pattern=`^\S+\s+\S+\s+\S+\s+\S+\s+\S+$`
	Schedule string `json:"schedule"`
	// Retention is how many snapshots are kept (the newest ready one always is).
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	Retention int32 `json:"retention,omitempty"`
	// VolumeSnapshotClassName; empty: the cluster's default class.
	// +optional
	VolumeSnapshotClassName *string `json:"volumeSnapshotClassName,omitempty"`
	// BootstrapNewNodes restores a new node's volume from the latest ready snapshot.
	// +kubebuilder:default=true
	// +optional
	BootstrapNewNodes *bool `json:"bootstrapNewNodes,omitempty"`
}

// SnapshotStatus tells where the network's snapshots stand.
type SnapshotStatus struct {
	// Count of the network's VolumeSnapshots.
	Count int32 `json:"count"`
	// Last is the newest snapshot, taken at LastTime from the volume of Source.
	// +optional
	Last string `json:"last,omitempty"`
	// +optional
	LastTime *metav1.Time `json:"lastTime,omitempty"`
	// +optional
	Source string `json:"source,omitempty"`
	// LastReady is the newest snapshot ready to restore from: new nodes start from it.
	// +optional
	LastReady string `json:"lastReady,omitempty"`
}

// KeyRotation asks for new keys for one node.
type KeyRotation struct {
	// Node is the node's pod name, e.g. corp-org1-validator-0.
	// +kubebuilder:validation:MinLength=1
	Node string `json:"node"`
	// ID tells rotations of the same node apart (a date, a ticket number).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ID string `json:"id"`
}

// Key rotation phases.
const (
	// RotationAdmitting: new keys made; the permission file lists them beside the old ones and
	// the operator waits until every node enforces it.
	RotationAdmitting = "Admitting"
	// RotationRestarting: the node's key Secret holds the new keys and the node restarts with
	// them; its old identity stays admitted until it reconnects with the new one.
	RotationRestarting = "Restarting"
	// RotationCompleted: the node runs with its new keys; the old node key is gone from the
	// permission file and the old miner key is revoked as of RotatedAt.
	RotationCompleted = "Completed"
	// RotationFailed: the rotation cannot be done (e.g. no such node).
	RotationFailed = "Failed"
)

// KeyRotationStatus is the record of one rotation.
type KeyRotationStatus struct {
	// Node and ID identify the rotation (see KeyRotation).
	Node string `json:"node"`
	ID   string `json:"id"`
	// Phase: Admitting, Restarting, Completed or Failed.
	Phase string `json:"phase"`
	// Message says why, when Failed.
	// +optional
	Message string `json:"message,omitempty"`
	// OldNodeID and OldMinerKey are the retired public keys; NewNodeID and NewMinerKey the new.
	// +optional
	OldNodeID string `json:"oldNodeId,omitempty"`
	// +optional
	OldMinerKey string `json:"oldMinerKey,omitempty"`
	// +optional
	NewNodeID string `json:"newNodeId,omitempty"`
	// +optional
	NewMinerKey string `json:"newMinerKey,omitempty"`
	// AdmittedVersion is the first permission file version listing the new keys.
	// +optional
	AdmittedVersion int64 `json:"admittedVersion,omitempty"`
	// RotatedAt is when the node's keys were swapped: blocks its old miner key signed before
	// this time stay valid.
	// +optional
	RotatedAt *metav1.Time `json:"rotatedAt,omitempty"`
	// RestartPodUID is the pod that ran with the old keys when the swap was recorded: it is
	// deleted (by UID, so a pass that repeats the step never deletes its successor) once the key
	// Secret holds the new keys.
	// +optional
	RestartPodUID string `json:"restartPodUID,omitempty"`
	// Restarts counts the extra restarts needed because the node came back with its old keys
	// (the kubelet still mounted the previous Secret).
	// +optional
	Restarts int32 `json:"restarts,omitempty"`
	// CompletedAt is when the node answered with its new identity and peers.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
}

// ScheduledUpgrade switches every node to Image after the block at Height.
type ScheduledUpgrade struct {
	// Height is the last block of the old version.
	// +kubebuilder:validation:Minimum=1
	Height int64 `json:"height"`
	// Image of chainnode from Height+1 on.
	// +kubebuilder:validation:MinLength=1
	Image string `json:"image"`
}

// SelfHealing says when the operator repairs a node. It takes one action per network at a time
// (then waits GracePeriodSeconds), and none while a rollout is under way.
type SelfHealing struct {
	// Enabled turns self-healing on.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// LagBlocks: a reachable node at least this many blocks below the network's best height for
	// GracePeriodSeconds is restarted (its pod deleted; it keeps its volume and resyncs).
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +optional
	LagBlocks int64 `json:"lagBlocks,omitempty"`
	// GracePeriodSeconds is how long a node may lag before it is restarted, and the least time
	// between two healing actions in the network.
	// +kubebuilder:default=300
	// +kubebuilder:validation:Minimum=5
	// +optional
	GracePeriodSeconds int32 `json:"gracePeriodSeconds,omitempty"`
}

// IsEnabled is Enabled, true when unset.
func (h SelfHealing) IsEnabled() bool { return h.Enabled == nil || *h.Enabled }

// Monitoring integrations.
type Monitoring struct {
	// ServiceMonitor creates a prometheus-operator ServiceMonitor when its CRD exists.
	// +optional
	ServiceMonitor bool `json:"serviceMonitor,omitempty"`
}

// Condition types.
const (
	ConditionReady       = "Ready"
	ConditionProgressing = "Progressing"
	ConditionDegraded    = "Degraded"
	// ConditionReconciling and ConditionStalled mirror Progressing and Degraded under the names
	// kstatus (Flux, kpt, cli-utils) reads.
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	// ConditionUpgradesAccepted (networks with spec.upgrades): False names the scheduled upgrades
	// refused because the chain is already past their height.
	ConditionUpgradesAccepted = "UpgradesAccepted"
	// ConditionPermissionsApplied (permissioned networks): every reachable node enforces the
	// current permission file version.
	ConditionPermissionsApplied = "PermissionsApplied"
)

// ChainNetworkStatus tells whether the network works and, if not, why.
type ChainNetworkStatus struct {
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, Progressing, Degraded (and Reconciling, Stalled for kstatus).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// GenesisHash identifies the chain.
	// +optional
	GenesisHash string `json:"genesisHash,omitempty"`
	// PermissionsVersion is the version of the permission file in force (permissioned networks).
	// +optional
	PermissionsVersion int64 `json:"permissionsVersion,omitempty"`
	// Nodes is "ready/desired", for kubectl get.
	// +optional
	Nodes string `json:"nodes,omitempty"`
	// ReadyNodes and DesiredNodes count pods.
	// +optional
	ReadyNodes int32 `json:"readyNodes,omitempty"`
	// +optional
	DesiredNodes int32 `json:"desiredNodes,omitempty"`
	// Organizations' ready counts.
	// +listType=map
	// +listMapKey=name
	// +optional
	Organizations []OrganizationStatus `json:"organizations,omitempty"`
	// Chain figures read from the nodes' /v1/status when reachable.
	// +optional
	Chain *ChainStatus `json:"chain,omitempty"`
	// UpgradedHeight is the height of the last scheduled upgrade every node reached; the nodes
	// run its image.
	// +optional
	UpgradedHeight int64 `json:"upgradedHeight,omitempty"`
	// UpgradedImage is the image of that upgrade: the nodes keep it when its entry is removed
	// from spec.upgrades (removing an applied entry never rolls the image back).
	// +optional
	UpgradedImage string `json:"upgradedImage,omitempty"`
	// Snapshots: the network's volume snapshots (spec.snapshots).
	// +optional
	Snapshots *SnapshotStatus `json:"snapshots,omitempty"`
	// KeyRotations record the rotations asked for in spec.keyRotations.
	// +optional
	KeyRotations []KeyRotationStatus `json:"keyRotations,omitempty"`
	// Healing records what self-healing did and which nodes it is watching.
	// +optional
	Healing *HealingStatus `json:"healing,omitempty"`
	// Governance is the on-chain membership, open proposals and this cluster's organizations'
	// identities (permissioned networks).
	// +optional
	Governance *GovernanceStatus `json:"governance,omitempty"`
}

// HealingStatus is the record of self-healing.
type HealingStatus struct {
	// Restarts counts lagging nodes restarted.
	// +optional
	Restarts int32 `json:"restarts,omitempty"`
	// Reseeds counts nodes whose corrupt store was replaced by a fresh volume synced from peers.
	// +optional
	Reseeds int32 `json:"reseeds,omitempty"`
	// LastAction says what was done last, to which node, and why.
	// +optional
	LastAction string `json:"lastAction,omitempty"`
	// LastActionTime is when it was done.
	// +optional
	LastActionTime *metav1.Time `json:"lastActionTime,omitempty"`
	// Lagging are the nodes seen behind the best height by LagBlocks or more, since when.
	// +listType=map
	// +listMapKey=name
	// +optional
	Lagging []LaggingNode `json:"lagging,omitempty"`
}

// LaggingNode is a node seen lagging.
type LaggingNode struct {
	// Name of the node's pod.
	Name string `json:"name"`
	// Since is when it was first seen lagging.
	Since metav1.Time `json:"since"`
}

// OrganizationStatus counts an organization's nodes.
type OrganizationStatus struct {
	// Name of the organization.
	Name string `json:"name"`
	// Validators desired.
	Validators int32 `json:"validators"`
	// ReadyValidators are validator pods passing their readiness probe (synced with peers).
	ReadyValidators int32 `json:"readyValidators"`
	// Observers desired.
	Observers int32 `json:"observers"`
	// ReadyObservers are observer pods passing their readiness probe.
	ReadyObservers int32 `json:"readyObservers"`
}

// ChainStatus is what the nodes say of the chain.
type ChainStatus struct {
	// BestHeight is the highest height any reachable node reports.
	BestHeight int64 `json:"bestHeight"`
	// CommonHeight is the lowest height of the reachable nodes: where agreement is checked.
	CommonHeight int64 `json:"commonHeight"`
	// Agree is true when every reachable node has the same block at CommonHeight.
	Agree bool `json:"agree"`
	// HashRate is the network's total hashes per second.
	HashRate int64 `json:"hashRate"`
	// Nodes are the per-node figures.
	// +listType=map
	// +listMapKey=name
	// +optional
	Nodes []NodeStatus `json:"nodes,omitempty"`
}

// NodeStatus is one node's view.
type NodeStatus struct {
	// Name of the node's pod.
	Name string `json:"name"`
	// Reachable is false when the pod has no IP or its API did not answer.
	Reachable bool `json:"reachable"`
	// Height of the node's best chain.
	// +optional
	Height int64 `json:"height,omitempty"`
	// BestHash is the hash of the node's best block.
	// +optional
	BestHash string `json:"bestHash,omitempty"`
	// Peers connected to the node.
	// +optional
	Peers int32 `json:"peers,omitempty"`
	// Synced is true once the node has caught up with its peers.
	// +optional
	Synced bool `json:"synced,omitempty"`
	// HashRate of the node's miner, hashes per second.
	// +optional
	HashRate int64 `json:"hashRate,omitempty"`
	// PermissionsVersion is the version of the permission file the node enforces.
	// +optional
	PermissionsVersion int64 `json:"permissionsVersion,omitempty"`
	// NodeID is the node's P2P identity (its public key).
	// +optional
	NodeID string `json:"nodeId,omitempty"`
	// HaltHeight is the height the node was started to stop at (--halt-height, a scheduled
	// upgrade), and Halted is true once it stopped there.
	// +optional
	HaltHeight int64 `json:"haltHeight,omitempty"`
	// +optional
	Halted bool `json:"halted,omitempty"`
	// DiskUsedPercent is how full the node's data volume is.
	// +optional
	DiskUsedPercent int32 `json:"diskUsedPercent,omitempty"`
}

// ChainNetwork is a proof-of-work blockchain network run by the operator.
//
// Every object name derives from the network's and its organizations' names. The longest, a
// StatefulSet <network>-<organization>-validator, must leave room for the controller-revision-hash
// label of its pods (name + 11 characters, at most 63), which bounds the two names together to 41
// characters; the network's Services (<network>-p2p, <network>-api) need a name starting with a
// letter.
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name: a DNS-1035 label (lowercase letters, digits and '-', starting with a letter): it names the network's Services"
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 40 && self.spec.organizations.all(o, size(self.metadata.name) + size(o.name) <= 41)",message="metadata.name and spec.organizations[].name: at most 41 characters together (and the network name at most 40), so every derived name fits its limit (<network>-<organization>-validator-31-p2p, the pods' controller-revision-hash label)"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.upgrades) || !has(self.status) || !has(self.status.upgradedHeight) || self.spec.upgrades.all(u, u.height > self.status.upgradedHeight || (has(oldSelf.spec.upgrades) && oldSelf.spec.upgrades.exists(o, o.height == u.height)))",message="spec.upgrades[].height: a new upgrade must be above status.upgradedHeight, the last upgrade the chain applied"
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cn,categories=chainnet
// +kubebuilder:printcolumn:name="Membership",type=string,JSONPath=`.spec.membership`
// +kubebuilder:printcolumn:name="Nodes",type=string,JSONPath=`.status.nodes`
// +kubebuilder:printcolumn:name="Height",type=integer,JSONPath=`.status.chain.bestHeight`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ChainNetwork struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ChainNetworkSpec   `json:"spec,omitempty"`
	Status ChainNetworkStatus `json:"status,omitempty"`
}

// ChainNetworkList lists ChainNetworks.
// +kubebuilder:object:root=true
type ChainNetworkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ChainNetwork `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ChainNetwork{}, &ChainNetworkList{})
}

// Nodes counts the desired pods.
func (s *ChainNetworkSpec) Nodes() int32 {
	var n int32
	for _, o := range s.Organizations {
		n += o.Validators + o.Observers
	}
	return n
}
