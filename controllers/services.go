package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

func nodePorts(cn *chainv1.ChainNetwork) []corev1.ServicePort {
	s := cn.Spec.Service
	return []corev1.ServicePort{
		{Name: p2pPortName, Port: s.P2PPort, TargetPort: intstr.FromString(p2pPortName), Protocol: corev1.ProtocolTCP},
		{Name: apiPortName, Port: s.APIPort, TargetPort: intstr.FromString(apiPortName), Protocol: corev1.ProtocolTCP},
	}
}

// headlessService is the network's DNS seed: it resolves to every node pod, ready or not (a
// syncing node must be reachable by its peers), and gives each pod a stable DNS name.
func headlessService(cn *chainv1.ChainNetwork) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: objectMeta(cn, HeadlessServiceName(cn), componentLabels(cn, "p2p")),
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			PublishNotReadyAddresses: true,
			Selector:                 map[string]string{LabelNetwork: cn.Name, LabelComponent: "node"},
			Ports:                    nodePorts(cn),
		},
	}
}

// clientService serves the HTTP API of the network's ready nodes.
func clientService(cn *chainv1.ChainNetwork) *corev1.Service {
	s := cn.Spec.Service
	svc := &corev1.Service{
		ObjectMeta: objectMeta(cn, ClientServiceName(cn), componentLabels(cn, "api")),
		Spec: corev1.ServiceSpec{
			Type:     s.Type,
			Selector: map[string]string{LabelNetwork: cn.Name, LabelComponent: "node"},
			Ports: []corev1.ServicePort{{Name: apiPortName, Port: s.APIPort, TargetPort: intstr.FromString(apiPortName),
				Protocol: corev1.ProtocolTCP}},
		},
	}
	if len(s.Annotations) > 0 {
		svc.Annotations = s.Annotations
	}
	return svc
}
