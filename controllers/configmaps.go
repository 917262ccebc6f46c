package controllers

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/governance"
	keyspkg "github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/permissions"
)

// ConfigMap keys.
const (
	GenesisKey     = "genesis.json"
	PermissionsKey = "permissions.json"
	NodeConfigKey  = "node.yaml"
)

// genesisFile builds the network's genesis from the spec. The timestamp is the resource's
// creation time and, on a permissioned network, the founding organizations are the spec's with
// their admin keys, their nodes' identities and their validators' miner keys at creation, so the
// file (and its hash) is a pure function of what the network was created with.
func genesisFile(cn *chainv1.ChainNetwork, keys map[node]nodeKeys, admins map[string]*keyspkg.Key) (*genesis.File, error) {
	c := cn.Spec.Consensus
	cons := genesis.DefaultConsensus()
	cons.TargetBlockTimeSeconds = uint64(c.TargetBlockTimeSeconds)
	cons.InitialDifficulty = uint64(c.InitialDifficulty)
	cons.MinDifficulty = max(1, cons.InitialDifficulty>>10) // never retarget to blocks that cost nothing
	cons.BlockReward = uint64(c.BlockReward)
	cons.HalvingInterval = uint64(c.HalvingInterval)
	cons.MaxBlockSize = uint64(c.MaxBlockSize)
	f := &genesis.File{NetworkID: cn.Namespace + "." + cn.Name, ChainID: chainID(cn),
		Timestamp: uint64(cn.CreationTimestamp.Unix()), Membership: genesis.Membership(cn.Spec.Membership), Consensus: cons}
	for _, a := range cn.Spec.Genesis.Alloc {
		f.Alloc = append(f.Alloc, genesis.Alloc{Address: a.Address, Balance: uint64(a.Balance)})
	}
	if permissioned(cn) {
		orgs, err := localOrganizations(cn, keys, admins)
		if err != nil {
			return nil, err
		}
		f.Organizations = orgs
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// localOrganizations are this cluster's organizations as the chain should list them: each with
// its admin key, its nodes' identities and its validators' miner keys (external peers included),
// rotations applied. At creation they found the network; later the governance step keeps the
// chain in line with them.
func localOrganizations(cn *chainv1.ChainNetwork, keys map[node]nodeKeys, admins map[string]*keyspkg.Key) ([]governance.Organization, error) {
	f := permissionFile(cn, keys)
	withRotations(cn, &f)
	var out []governance.Organization
	for _, o := range f.Organizations {
		admin, ok := admins[o.Name]
		if !ok {
			return nil, fmt.Errorf("organization %s has no admin key", o.Name)
		}
		org := governance.Organization{Name: o.Name, AdminKey: governance.Key(admin.Public)}
		for _, l := range []struct {
			from []permissions.Node
			to   *[]governance.Key
		}{{o.Validators, &org.Validators}, {o.Observers, &org.Observers}} {
			for _, n := range l.from {
				k, err := governance.ParseKey(n.NodeID)
				if err != nil {
					return nil, fmt.Errorf("organization %s: node %s: %w", o.Name, n.Name, err)
				}
				*l.to = append(*l.to, k)
			}
		}
		for _, m := range o.Miners {
			k, err := governance.ParseKey(m)
			if err != nil {
				return nil, fmt.Errorf("organization %s: miner key: %w", o.Name, err)
			}
			org.Miners = append(org.Miners, k)
		}
		out = append(out, org)
	}
	return out, nil
}

// chainID derives a replay-protection id from the network's identity and founding time (not
// its UID: the genesis is a function of the spec and the founding record, the same for a
// network created again under its name).
func chainID(cn *chainv1.ChainNetwork) uint64 {
	h := hashOf(cn.Namespace, cn.Name, fmt.Sprint(cn.CreationTimestamp.Unix()))
	var id uint64
	fmt.Sscanf(h[:12], "%x", &id)
	return id
}

// genesisConfigMap holds the genesis file; it is created once and never updated.
func genesisConfigMap(cn *chainv1.ChainNetwork, f *genesis.File) (*corev1.ConfigMap, string, error) {
	b, err := f.Marshal()
	if err != nil {
		return nil, "", err
	}
	h, err := f.Hash()
	if err != nil {
		return nil, "", err
	}
	cm := &corev1.ConfigMap{ObjectMeta: objectMeta(cn, GenesisConfigMapName(cn), componentLabels(cn, "genesis")),
		Data: map[string]string{GenesisKey: string(b)}, Immutable: ptr(true)}
	cm.Annotations = map[string]string{AnnotationGenesisHash: h}
	return cm, h, nil
}

func componentLabels(cn *chainv1.ChainNetwork, component string) map[string]string {
	l := networkLabels(cn)
	l[LabelComponent] = component
	return l
}

// permissionFile lists every organization's validators, observers and miners (external peers
// included). Its version is set by the caller: it increases whenever the content changes.
func permissionFile(cn *chainv1.ChainNetwork, keys map[node]nodeKeys) permissions.File {
	f := permissions.File{Membership: string(cn.Spec.Membership)}
	for _, o := range cn.Spec.Organizations {
		org := permissions.Organization{Name: o.Name}
		for _, n := range desiredNodes(cn) {
			k, ok := keys[n]
			if n.Org != o.Name || !ok {
				continue
			}
			member := permissions.Node{Name: PodName(cn, n.Org, n.Role, n.Ordinal), NodeID: k.NodeID}
			if n.Role == RoleValidator {
				org.Validators = append(org.Validators, member)
				org.Miners = append(org.Miners, k.MinerKey)
			} else {
				org.Observers = append(org.Observers, member)
			}
		}
		for i, p := range cn.Spec.ExternalPeers {
			if p.Organization != o.Name {
				continue
			}
			org.Validators = append(org.Validators, permissions.Node{Name: fmt.Sprintf("external-%d", i), NodeID: p.NodeID})
			if p.MinerKey != "" {
				org.Miners = append(org.Miners, p.MinerKey)
			}
		}
		f.Organizations = append(f.Organizations, org)
	}
	return f
}

// permissionsConfigMap renders the permission file at version.
func permissionsConfigMap(cn *chainv1.ChainNetwork, f permissions.File, version uint64) (*corev1.ConfigMap, error) {
	f.Version = version
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{ObjectMeta: objectMeta(cn, PermissionsConfigMapName(cn), componentLabels(cn, "permissions")),
		Data: map[string]string{PermissionsKey: string(b)}}
	cm.Annotations = map[string]string{AnnotationPermissionsVersion: fmt.Sprint(version), "chainnet.io/permissions-content": permissionsContentHash(f)}
	return cm, nil
}

// permissionsContentHash ignores the version, so that the version only moves on real changes.
func permissionsContentHash(f permissions.File) string {
	f.Version = 0
	b, _ := json.Marshal(f)
	return hashOf(string(b))
}

// nodeConfig is the chainnode --config file shared by all nodes: bootstrap peers (stable pod DNS
// names with their node ids, and external peers) and the DNS seed. Nodes read it at start only;
// running nodes find new pods through the DNS seed, so changing it rolls nothing.
func nodeConfigMap(cn *chainv1.ChainNetwork, keys map[node]nodeKeys) (*corev1.ConfigMap, error) {
	port := cn.Spec.Service.P2PPort
	var boot []string
	for _, n := range desiredNodes(cn) {
		if k, ok := keys[n]; ok && n.Role == RoleValidator {
			boot = append(boot, fmt.Sprintf("%s:%d#%s", PodDNSName(cn, n.Org, n.Role, n.Ordinal), port, k.NodeID))
		}
	}
	for _, p := range cn.Spec.ExternalPeers {
		boot = append(boot, p.Address+"#"+p.NodeID)
	}
	if cn.Spec.Join != nil {
		boot = append(boot, cn.Spec.Join.BootstrapPeers...)
	}
	cfg := map[string]any{
		"dns-seed":  []string{fmt.Sprintf("%s.%s.svc:%d", HeadlessServiceName(cn), cn.Namespace, port)},
		"bootstrap": boot,
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	return &corev1.ConfigMap{ObjectMeta: objectMeta(cn, NodeConfigMapName(cn), componentLabels(cn, "node-config")),
		Data: map[string]string{NodeConfigKey: string(b)}}, nil
}
