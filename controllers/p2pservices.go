package controllers

import (
	"context"
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// podNameLabel is set by the StatefulSet controller on each of its pods.
const podNameLabel = "statefulset.kubernetes.io/pod-name"

// P2PServiceName is the Service that exposes one node's P2P port to other clusters.
func P2PServiceName(cn *chainv1.ChainNetwork, n node) string {
	return PodName(cn, n.Org, n.Role, n.Ordinal) + "-p2p"
}

// nodeP2PService exposes one node's P2P port as a NodePort or LoadBalancer Service of its own,
// so that other clusters dial that node. externalTrafficPolicy Local keeps the dialer's address
// (the NetworkPolicy admits spec.p2p.allowedCIDRs by it) and serves the port on the node the pod
// runs on, which is the address advertised for NodePorts.
func nodeP2PService(cn *chainv1.ChainNetwork, n node) *corev1.Service {
	labels := setLabels(cn, n.Org, n.Role)
	labels[LabelComponent] = "p2p-endpoint"
	pod := PodName(cn, n.Org, n.Role, n.Ordinal)
	return &corev1.Service{
		ObjectMeta: objectMeta(cn, P2PServiceName(cn, n), labels),
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceType(cn.Spec.P2P.Expose),
			Selector:              map[string]string{LabelNetwork: cn.Name, podNameLabel: pod},
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			Ports: []corev1.ServicePort{{Name: p2pPortName, Port: cn.Spec.Service.P2PPort, TargetPort: intstr.FromString(p2pPortName),
				Protocol: corev1.ProtocolTCP}},
		},
	}
}

func exposed(cn *chainv1.ChainNetwork) bool {
	return cn.Spec.P2P.Expose == chainv1.P2PExposureNodePort || cn.Spec.P2P.Expose == chainv1.P2PExposureLoadBalancer
}

// ensureP2PServices applies a P2P Service per node when spec.p2p.expose asks for them, and
// deletes those of nodes the spec no longer has (or all of them when exposure is turned off).
func (r *ChainNetworkReconciler) ensureP2PServices(ctx context.Context, cn *chainv1.ChainNetwork) error {
	want := map[string]bool{}
	if exposed(cn) {
		for _, n := range desiredNodes(cn) {
			svc := nodeP2PService(cn, n)
			want[svc.Name] = true
			if err := r.apply(ctx, cn, svc); err != nil {
				return err
			}
		}
	}
	var list corev1.ServiceList
	if err := r.List(ctx, &list, client.InNamespace(cn.Namespace), client.MatchingLabels{LabelNetwork: cn.Name, LabelComponent: "p2p-endpoint"}); err != nil {
		return err
	}
	for i := range list.Items {
		if s := &list.Items[i]; !want[s.Name] {
			if err := r.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// nodeEndpoints are the addresses other clusters dial this cluster's exposed nodes at
// (host:port#nodeId), per organization; nodes whose address is not known yet (no node port
// assigned, no load balancer ingress, pod not scheduled) are left out.
func (r *ChainNetworkReconciler) nodeEndpoints(ctx context.Context, cn *chainv1.ChainNetwork, keys map[node]nodeKeys) (map[string][]string, error) {
	out := map[string][]string{}
	if !exposed(cn) {
		return out, nil
	}
	for _, n := range desiredNodes(cn) {
		k, ok := keys[n]
		if !ok {
			continue
		}
		var svc corev1.Service
		if err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: P2PServiceName(cn, n)}, &svc); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, err
		}
		addr, err := r.endpointAddress(ctx, cn, n, &svc)
		if err != nil || addr == "" {
			continue
		}
		out[n.Org] = append(out[n.Org], addr+"#"+k.NodeID)
	}
	return out, nil
}

func (r *ChainNetworkReconciler) endpointAddress(ctx context.Context, cn *chainv1.ChainNetwork, n node, svc *corev1.Service) (string, error) {
	if len(svc.Spec.Ports) == 0 {
		return "", nil
	}
	switch cn.Spec.P2P.Expose {
	case chainv1.P2PExposureLoadBalancer:
		for _, in := range svc.Status.LoadBalancer.Ingress {
			host := in.IP
			if host == "" {
				host = in.Hostname
			}
			if host != "" {
				return net.JoinHostPort(host, strconv.Itoa(int(svc.Spec.Ports[0].Port))), nil
			}
		}
		return "", nil
	default:
		port := svc.Spec.Ports[0].NodePort
		if port == 0 {
			return "", nil
		}
		host := cn.Spec.P2P.AdvertiseHost
		if host == "" {
			var pod corev1.Pod
			if err := r.Get(ctx, client.ObjectKey{Namespace: cn.Namespace, Name: PodName(cn, n.Org, n.Role, n.Ordinal)}, &pod); err != nil {
				return "", client.IgnoreNotFound(err)
			}
			host = pod.Status.HostIP
		}
		if host == "" {
			return "", nil
		}
		return net.JoinHostPort(host, fmt.Sprint(port)), nil
	}
}
