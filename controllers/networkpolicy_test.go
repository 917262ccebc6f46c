package controllers

import (
	"testing"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

func TestNetworkPolicyIsolatesPermissionedNetworks(t *testing.T) {
	if networkPolicy(network(chainv1.Public, org("default", 1, 0))) != nil {
		t.Fatal("public networks are open")
	}
	cn := network(chainv1.Private, org("acme", 1, 0))
	cn.Spec.ExternalPeers = []chainv1.ExternalPeer{{Address: "peer:9333", NodeID: hex64(1), CIDR: "203.0.113.7/32"}}
	np := networkPolicy(cn)
	p2p := np.Spec.Ingress[0]
	if p2p.Ports[0].Port.StrVal != p2pPortName || len(p2p.From) != 2 || p2p.From[1].IPBlock.CIDR != "203.0.113.7/32" {
		t.Fatalf("p2p rule: %+v", p2p)
	}
	if p2p.From[0].PodSelector.MatchLabels[LabelNetwork] != "net" {
		t.Fatal("only the network's own pods reach the P2P port")
	}
	if len(np.Spec.Ingress[1].From) != 0 {
		t.Fatal("the API port stays open to clients")
	}
}
