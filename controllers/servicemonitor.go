package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// serviceMonitorGVK is prometheus-operator's ServiceMonitor.
var serviceMonitorGVK = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}

// serviceMonitor scrapes every node's /metrics through the headless Service (unstructured: the
// operator does not depend on prometheus-operator's Go module, and its CRD may be absent).
func serviceMonitor(cn *chainv1.ChainNetwork) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(serviceMonitorGVK)
	u.SetName(cn.Name)
	u.SetNamespace(cn.Namespace)
	u.SetLabels(componentLabels(cn, "monitoring"))
	u.SetOwnerReferences([]metav1.OwnerReference{ownerRef(cn)})
	_ = unstructured.SetNestedField(u.Object, map[string]any{
		"selector":  map[string]any{"matchLabels": map[string]any{LabelNetwork: cn.Name, LabelComponent: "p2p"}},
		"endpoints": []any{map[string]any{"port": apiPortName, "path": "/metrics", "interval": "30s"}},
	}, "spec")
	return u
}

// ensureServiceMonitor applies the ServiceMonitor when asked and its CRD exists; without the CRD
// it says so in an event instead of failing the reconcile.
func (r *ChainNetworkReconciler) ensureServiceMonitor(ctx context.Context, cn *chainv1.ChainNetwork) error {
	if !cn.Spec.Monitoring.ServiceMonitor {
		return nil
	}
	if _, err := r.RESTMapper().RESTMapping(serviceMonitorGVK.GroupKind(), serviceMonitorGVK.Version); err != nil {
		if meta.IsNoMatchError(err) {
			r.event(cn, "Warning", "ServiceMonitorUnavailable", "spec.monitoring.serviceMonitor is set but the ServiceMonitor CRD (monitoring.coreos.com/v1) is not installed")
			return nil
		}
		return err
	}
	return r.apply(ctx, cn, serviceMonitor(cn))
}
