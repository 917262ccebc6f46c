package controllers

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/keys"
)

// Secret keys of a node's key Secret (the chainnode key file format).
const (
	SecretNodeKey  = "node-key.json"
	SecretMinerKey = "miner-key.json"
)

// nodeKeys are the public halves of a node's keys, read back from its Secret.
type nodeKeys struct {
	NodeID   string
	MinerKey string
}

// keySecret builds the Secret of a new node with freshly generated keys. It is created once and
// never written again except by a key rotation asked for in the spec: a member's identity is its
// key. It is not marked immutable, because the kubelet stops watching immutable Secrets and would
// keep mounting the old keys into a rotated node's new pod for as long as any pod of its
// StatefulSet (all mount every ordinal's Secret) runs on that kubelet.
func keySecret(cn *chainv1.ChainNetwork, n node) (*corev1.Secret, error) {
	nodeKey, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	minerKey, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	nk, err := keys.Marshal(nodeKey)
	if err != nil {
		return nil, err
	}
	mk, err := keys.Marshal(minerKey)
	if err != nil {
		return nil, err
	}
	labels := setLabels(cn, n.Org, n.Role)
	labels[LabelComponent] = "keys"
	s := &corev1.Secret{
		ObjectMeta: objectMeta(cn, KeySecretName(cn, n.Org, n.Role, n.Ordinal), labels),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{SecretNodeKey: nk, SecretMinerKey: mk},
	}
	s.Annotations = map[string]string{"chainnet.io/node-id": nodeKey.NodeID(), "chainnet.io/miner-key": minerKey.NodeID()}
	// Keys outlive the network object: deleting a ChainNetwork must not destroy identities whose
	// chain data (PVCs) is retained, so key Secrets carry no owner reference.
	s.OwnerReferences = nil
	return s, nil
}

// keysOf reads the public keys from a node's Secret.
func keysOf(s *corev1.Secret) (nodeKeys, error) {
	nk, err := keys.Parse(s.Data[SecretNodeKey])
	if err != nil {
		return nodeKeys{}, fmt.Errorf("secret %s: %s: %w", s.Name, SecretNodeKey, err)
	}
	mk, err := keys.Parse(s.Data[SecretMinerKey])
	if err != nil {
		return nodeKeys{}, fmt.Errorf("secret %s: %s: %w", s.Name, SecretMinerKey, err)
	}
	return nodeKeys{NodeID: nk.NodeID(), MinerKey: mk.NodeID()}, nil
}

func ptr[T any](v T) *T { return &v }
