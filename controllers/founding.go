package controllers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/genesis"
)

// The founding record: every key Secret of a network carries the genesis its chain started
// from (the file under SecretGenesisKey, its hash as an annotation). Key Secrets and claims
// outlive the ChainNetwork (no owner); the genesis ConfigMap does not. Deleting a network and
// creating it again (helm uninstall/install, an Argo CD prune and sync, a Velero restore with a
// new UID) finds the record and brings back the same genesis, so the kept volumes go on with
// their chain; a spec that does not describe that chain is refused (GenesisMismatch) instead of
// starting nodes that crash-loop on the wrong genesis.

// SecretGenesisKey holds the founding genesis file in a node's key Secret (never mounted: the
// pods project only the key files).
const SecretGenesisKey = "genesis.json"

// GenesisMismatchError says the spec does not describe the chain its kept volumes hold.
type GenesisMismatchError struct{ Hash, Reason string }

func (e *GenesisMismatchError) Error() string {
	return fmt.Sprintf("the kept keys and volumes of this network belong to the chain with genesis %.16s, which this spec does not describe: %s (restore that spec, or delete the key Secrets and claims to start a new chain)", e.Hash, e.Reason)
}

// IsGenesisMismatch tells whether err (or an error it wraps) is a GenesisMismatchError.
func IsGenesisMismatch(err error) bool {
	var m *GenesisMismatchError
	return errors.As(err, &m)
}

// foundingRecord is the genesis recorded on the network's key Secrets, or nil. Records that
// disagree (two chains' Secrets under one name) are an error.
func (r *ChainNetworkReconciler) foundingRecord(ctx context.Context, cn *chainv1.ChainNetwork) (*genesis.File, []byte, error) {
	var list corev1.SecretList
	if err := r.liveReader().List(ctx, &list, client.InNamespace(cn.Namespace), client.MatchingLabels{LabelNetwork: cn.Name, LabelComponent: "keys"}); err != nil {
		return nil, nil, fmt.Errorf("founding record: %w", err)
	}
	var found []byte
	var hash string
	for _, s := range list.Items {
		b, h := s.Data[SecretGenesisKey], s.Annotations[AnnotationGenesisHash]
		if len(b) == 0 || h == "" {
			continue
		}
		if found != nil && h != hash {
			return nil, nil, &GenesisMismatchError{Hash: hash, Reason: fmt.Sprintf("Secret %s records another genesis, %.16s", s.Name, h)}
		}
		found, hash = b, h
	}
	if found == nil {
		return nil, nil, nil
	}
	f, err := genesis.Parse(found)
	if err != nil {
		return nil, nil, fmt.Errorf("founding record: %w", err)
	}
	if h, err := f.Hash(); err != nil || h != hash {
		return nil, nil, fmt.Errorf("founding record: the recorded genesis hashes to %s, not %s (%v)", h, hash, err)
	}
	return f, found, nil
}

// describesChain checks that the spec describes the recorded chain: its identity, membership,
// consensus and allocations (what the spec fixes; the founding organizations and time are the
// record's). A joined network must pin the same genesis.
func describesChain(cn *chainv1.ChainNetwork, recorded *genesis.File, hash string, fresh *genesis.File) error {
	if cn.Spec.Join != nil {
		if cn.Spec.Join.GenesisHash != hash {
			return &GenesisMismatchError{Hash: hash, Reason: "spec.join.genesisHash is " + cn.Spec.Join.GenesisHash}
		}
		return nil
	}
	switch {
	case recorded.NetworkID != fresh.NetworkID:
		return &GenesisMismatchError{Hash: hash, Reason: "network id " + recorded.NetworkID}
	case recorded.Membership != fresh.Membership:
		return &GenesisMismatchError{Hash: hash, Reason: "spec.membership was " + string(recorded.Membership)}
	case recorded.Consensus != fresh.Consensus:
		return &GenesisMismatchError{Hash: hash, Reason: fmt.Sprintf("spec.consensus was %+v", recorded.Consensus)}
	case !reflect.DeepEqual(recorded.Alloc, fresh.Alloc):
		return &GenesisMismatchError{Hash: hash, Reason: "spec.genesis.alloc differs"}
	}
	return nil
}

// recordFounding writes the genesis onto every desired node's key Secret that does not carry
// it yet: before the genesis ConfigMap is created, and again for nodes added later.
func (r *ChainNetworkReconciler) recordFounding(ctx context.Context, cn *chainv1.ChainNetwork, file []byte, hash string) error {
	for _, n := range desiredNodes(cn) {
		var s corev1.Secret
		if err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: KeySecretName(cn, n.Org, n.Role, n.Ordinal)}, &s); err != nil {
			if err := r.liveReader().Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: KeySecretName(cn, n.Org, n.Role, n.Ordinal)}, &s); err != nil {
				return fmt.Errorf("record the genesis: %w", err)
			}
		}
		if s.Annotations[AnnotationGenesisHash] == hash && bytes.Equal(s.Data[SecretGenesisKey], file) {
			continue
		}
		if err := checkOwner(cn, &s, n.Org); err != nil {
			return err
		}
		base := s.DeepCopy()
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[AnnotationGenesisHash] = hash
		s.Data[SecretGenesisKey] = file
		if err := r.Patch(ctx, &s, client.MergeFrom(base)); err != nil {
			return fmt.Errorf("record the genesis on %s: %w", s.Name, err)
		}
	}
	return nil
}
