package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

func TestServices(t *testing.T) {
	cn := network(chainv1.Public, org("default", 1, 0))
	cn.Spec.Service.Type = corev1.ServiceTypeLoadBalancer
	cn.Spec.Service.Annotations = map[string]string{"lb": "internal"}
	h := headlessService(cn)
	if h.Spec.ClusterIP != corev1.ClusterIPNone || !h.Spec.PublishNotReadyAddresses || len(h.Spec.Ports) != 2 {
		t.Fatalf("headless service: %+v", h.Spec)
	}
	c := clientService(cn)
	if c.Spec.Type != corev1.ServiceTypeLoadBalancer || c.Annotations["lb"] != "internal" || c.Spec.Ports[0].Port != 8545 {
		t.Fatalf("client service: %+v %v", c.Spec, c.Annotations)
	}
	if c.Spec.Selector[LabelNetwork] != "net" || h.OwnerReferences[0].Name != "net" {
		t.Fatal("services select the network's pods and are owned by it")
	}
}
