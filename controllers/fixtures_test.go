package controllers

import (
	"bytes"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/keys"
)

// network returns a defaulted ChainNetwork as the API server would store it.
func network(membership chainv1.Membership, orgs ...chainv1.Organization) *chainv1.ChainNetwork {
	cn := &chainv1.ChainNetwork{ObjectMeta: metav1.ObjectMeta{Name: "net", Namespace: "ns", UID: "uid-1",
		CreationTimestamp: metav1.Unix(1_800_000_000, 0)}}
	cn.Spec.Membership = membership
	cn.Spec.Organizations = orgs
	cn.Spec.Image = "chainnet/chainnode:0.1.0"
	cn.Spec.Service = chainv1.ServiceSpec{Type: "ClusterIP", APIPort: 8545, P2PPort: 9333}
	cn.Spec.Consensus = chainv1.Consensus{TargetBlockTimeSeconds: 10, InitialDifficulty: 1000, BlockReward: 50, HalvingInterval: 100, MaxBlockSize: 1 << 20}
	return cn
}

func org(name string, validators, observers int32) chainv1.Organization {
	return chainv1.Organization{Name: name, Validators: validators, Observers: observers, MinerThreads: 1}
}

// withKeys gives every desired node made-up keys.
func withKeys(cn *chainv1.ChainNetwork) map[node]nodeKeys {
	out := map[node]nodeKeys{}
	for i, n := range desiredNodes(cn) {
		out[n] = nodeKeys{NodeID: hex64(byte(2 * i)), MinerKey: hex64(byte(2*i + 1))}
	}
	return out
}

func hex64(b byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 64)
	for i := range out {
		out[i] = digits[(int(b)+i)%16]
	}
	return string(out)
}

// withAdmins gives every organization a deterministic admin key.
func withAdmins(t *testing.T, cn *chainv1.ChainNetwork) map[string]*keys.Key {
	out := map[string]*keys.Key{}
	for i, o := range cn.Spec.Organizations {
		k, err := keys.FromSeed(bytes.Repeat([]byte{byte(100 + i)}, 32))
		if err != nil {
			t.Fatal(err)
		}
		out[o.Name] = k
	}
	return out
}
