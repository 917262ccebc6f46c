package controllers

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/genesis"
	keyspkg "github.com/chainnet/chainnet/internal/keys"
)

// ensureKeySecrets creates a key Secret for every desired node that has none and returns every
// desired node's public keys. Existing Secrets are never touched.
func (r *ChainNetworkReconciler) ensureKeySecrets(ctx context.Context, cn *chainv1.ChainNetwork) (map[node]nodeKeys, error) {
	out := map[node]nodeKeys{}
	created := 0
	for _, n := range desiredNodes(cn) {
		s := &corev1.Secret{}
		err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: KeySecretName(cn, n.Org, n.Role, n.Ordinal)}, s)
		if apierrors.IsNotFound(err) {
			if s, err = keySecret(cn, n); err != nil {
				return nil, err
			}
			made, err := r.createOnce(ctx, cn, s)
			if err != nil {
				return nil, fmt.Errorf("create key secret %s: %w", s.Name, err)
			}
			if made {
				created++
			}
		} else if err != nil {
			return nil, err
		} else if err := checkOwner(cn, s, n.Org); err != nil {
			return nil, err
		}
		k, err := keysOf(s)
		if err != nil {
			return nil, err
		}
		out[n] = k
	}
	if created > 0 {
		r.event(cn, corev1.EventTypeNormal, "KeysGenerated", "Generated node and miner keys for %d node(s)", created)
	}
	return out, nil
}

// ensureGenesis creates the genesis ConfigMap once and returns the genesis hash recorded on it.
// The genesis goes onto the kept key Secrets (the founding record) before the ConfigMap is
// created, and onto those of nodes added later; a network created again under the same name
// takes its genesis from that record (founding.go).
func (r *ChainNetworkReconciler) ensureGenesis(ctx context.Context, cn *chainv1.ChainNetwork, keys map[node]nodeKeys, admins map[string]*keyspkg.Key) (string, error) {
	existing := &corev1.ConfigMap{}
	err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: GenesisConfigMapName(cn)}, existing)
	if err == nil {
		if err := checkOwner(cn, existing, ""); err != nil {
			return "", err
		}
		hash := existing.Annotations[AnnotationGenesisHash]
		return hash, r.recordFounding(ctx, cn, []byte(existing.Data[GenesisKey]), hash)
	}
	if !apierrors.IsNotFound(err) {
		return "", err
	}
	f, restored, err := r.genesisToCreate(ctx, cn, keys, admins)
	if err != nil {
		return "", err
	}
	cm, hash, err := genesisConfigMap(cn, f)
	if err != nil {
		return "", err
	}
	if err := r.recordFounding(ctx, cn, []byte(cm.Data[GenesisKey]), hash); err != nil {
		return "", err
	}
	made, err := r.createOnce(ctx, cn, cm)
	if err != nil {
		return "", fmt.Errorf("create genesis: %w", err)
	}
	if !made {
		return cm.Annotations[AnnotationGenesisHash], nil // an earlier pass made it
	}
	if restored {
		r.event(cn, corev1.EventTypeNormal, "GenesisRestored", "Genesis %s restored from the founding record on the kept key Secrets", hash)
	} else {
		r.event(cn, corev1.EventTypeNormal, "GenesisCreated", "Genesis %s created", hash)
	}
	return hash, nil
}

// genesisToCreate is the genesis of a network that has no genesis ConfigMap: the one its kept
// key Secrets record (when the spec describes that chain), else the one the spec founds or joins.
func (r *ChainNetworkReconciler) genesisToCreate(ctx context.Context, cn *chainv1.ChainNetwork, keys map[node]nodeKeys, admins map[string]*keyspkg.Key) (*genesis.File, bool, error) {
	var fresh *genesis.File
	var err error
	if cn.Spec.Join != nil {
		fresh, err = r.joinedGenesis(ctx, cn)
	} else {
		fresh, err = genesisFile(cn, keys, admins)
	}
	if err != nil {
		return nil, false, fmt.Errorf("genesis: %w", err)
	}
	recorded, _, err := r.foundingRecord(ctx, cn)
	if err != nil || recorded == nil {
		return fresh, false, err
	}
	hash, err := recorded.Hash()
	if err != nil {
		return nil, false, err
	}
	if err := describesChain(cn, recorded, hash, fresh); err != nil {
		return nil, false, err
	}
	freshHash, _ := fresh.Hash()
	return recorded, freshHash != hash, nil // the same: recorded by an earlier pass of this network
}

// joinedGenesis reads the genesis of the network spec.join names (inline or from a ConfigMap)
// and checks it against the pinned hash: a file with any other content is another network.
func (r *ChainNetworkReconciler) joinedGenesis(ctx context.Context, cn *chainv1.ChainNetwork) (*genesis.File, error) {
	j := cn.Spec.Join
	text := j.Genesis
	if j.GenesisConfigMap != "" {
		// The user's ConfigMap carries none of our labels: the cache (filtered by them) never
		// holds it, so it is read from the API server.
		var cm corev1.ConfigMap
		if err := r.uncached().Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: j.GenesisConfigMap}, &cm); err != nil {
			return nil, fmt.Errorf("spec.join.genesisConfigMap %s: %w", j.GenesisConfigMap, err)
		}
		if text = cm.Data[GenesisKey]; text == "" {
			return nil, fmt.Errorf("spec.join.genesisConfigMap %s has no key %s", j.GenesisConfigMap, GenesisKey)
		}
	}
	f, err := genesis.Parse([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("spec.join: %w", err)
	}
	h, err := f.Hash()
	if err != nil {
		return nil, err
	}
	if h != j.GenesisHash {
		return nil, fmt.Errorf("spec.join.genesisHash: the genesis file hashes to %s, not %s", h, j.GenesisHash)
	}
	if string(f.Membership) != string(cn.Spec.Membership) {
		return nil, fmt.Errorf("spec.membership: %s, the joined network is %s", cn.Spec.Membership, f.Membership)
	}
	return f, nil
}

// ensurePermissions writes the permission file of a permissioned network; its version moves only
// when its content changes. Nodes reload it without restarting.
func (r *ChainNetworkReconciler) ensurePermissions(ctx context.Context, cn *chainv1.ChainNetwork, keys map[node]nodeKeys) (int64, error) {
	if !permissioned(cn) {
		return 0, nil
	}
	f := permissionFile(cn, keys)
	withRotations(cn, &f)
	version := uint64(1)
	existing := &corev1.ConfigMap{}
	err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: PermissionsConfigMapName(cn)}, existing)
	switch {
	case err == nil:
		if err := checkOwner(cn, existing, ""); err != nil {
			return 0, err
		}
		old, _ := strconv.ParseUint(existing.Annotations[AnnotationPermissionsVersion], 10, 64)
		version = max(old, 1)
		if existing.Annotations["chainnet.io/permissions-content"] != permissionsContentHash(f) {
			version = old + 1
			r.event(cn, corev1.EventTypeNormal, "PermissionsUpdated", "Permission file version %d: %d organization(s)", version, len(f.Organizations))
		}
	case !apierrors.IsNotFound(err):
		return 0, err
	}
	cm, err := permissionsConfigMap(cn, f, version)
	if err != nil {
		return 0, err
	}
	return int64(version), r.apply(ctx, cn, cm)
}

// ensureNetworkObjects applies the node config, the Services and the NetworkPolicy.
func (r *ChainNetworkReconciler) ensureNetworkObjects(ctx context.Context, cn *chainv1.ChainNetwork, keys map[node]nodeKeys) error {
	cfg, err := nodeConfigMap(cn, keys)
	if err != nil {
		return err
	}
	for _, obj := range []client.Object{cfg, headlessService(cn), clientService(cn)} {
		if err := r.apply(ctx, cn, obj); err != nil {
			return err
		}
	}
	if np := networkPolicy(cn); np != nil {
		return r.apply(ctx, cn, np)
	}
	return nil
}
