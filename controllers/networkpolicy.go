package controllers

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// networkPolicy isolates a permissioned network: only its own pods, the external peers' CIDRs and
// the other members' clusters (spec.p2p.allowedCIDRs) reach the P2P port; the API port stays open to clients. Public networks get none: anyone
// may connect. (TLS membership checks stay the real gate; this is defence in depth.)
func networkPolicy(cn *chainv1.ChainNetwork) *networkingv1.NetworkPolicy {
	if !permissioned(cn) {
		return nil
	}
	tcp := corev1.ProtocolTCP
	p2p := intstr.FromString(p2pPortName)
	api := intstr.FromString(apiPortName)
	peers := []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelNetwork: cn.Name, LabelComponent: "node"}}}}
	for _, p := range cn.Spec.ExternalPeers {
		if p.CIDR != "" {
			peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: p.CIDR}})
		}
	}
	for _, cidr := range cn.Spec.P2P.AllowedCIDRs {
		peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: objectMeta(cn, cn.Name+"-p2p", componentLabels(cn, "p2p")),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{LabelNetwork: cn.Name, LabelComponent: "node"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &p2p}}, From: peers},
				{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &api}}},
			},
		},
	}
}
