package controllers

import (
	"testing"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

func TestKeySecretIsFreshAndReadable(t *testing.T) {
	cn := network(chainv1.Consortium, org("org1", 2, 0))
	a, err := keySecret(cn, node{"org1", RoleValidator, 0})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := keySecret(cn, node{"org1", RoleValidator, 1})
	ka, err := keysOf(a)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := keysOf(b)
	if ka.NodeID == kb.NodeID || ka.NodeID == ka.MinerKey {
		t.Fatal("every node and miner key must be distinct")
	}
	// Not immutable: a key rotation updates it in place, and the kubelet only watches mutable ones.
	if a.Name != "net-org1-validator-0-keys" || (a.Immutable != nil && *a.Immutable) || len(a.OwnerReferences) != 0 {
		t.Fatalf("secret %s: immutable %v, owners %v", a.Name, a.Immutable, a.OwnerReferences)
	}
	if a.Annotations["chainnet.io/node-id"] != ka.NodeID {
		t.Fatal("node id annotation does not match the key")
	}
	a.Data[SecretNodeKey] = []byte("{}")
	if _, err := keysOf(a); err == nil {
		t.Fatal("a corrupt key file must be an error")
	}
}
