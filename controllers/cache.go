package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions is the manager's cache: Secrets, Pods, ConfigMaps and PersistentVolumeClaims
// only when they carry the network label (every one the operator creates or that its
// StatefulSets create does), so that the operator never holds the cluster's other Secrets, nor
// the memory of every Pod and ConfigMap of a large cluster. Objects of other kinds are few and
// the operator owns them. namespaces, when set, limits every cache to them (a namespace-scoped
// install, whose Roles allow nothing else).
func CacheOptions(namespaces []string) cache.Options {
	owned, err := labels.NewRequirement(LabelNetwork, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant label key
	}
	byLabel := cache.ByObject{Label: labels.NewSelector().Add(*owned)}
	opts := cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}:                byLabel,
		&corev1.Pod{}:                   byLabel,
		&corev1.ConfigMap{}:             byLabel,
		&corev1.PersistentVolumeClaim{}: byLabel,
	}}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// uncached reads past the cache (for objects the cache filters out), or from the cache when
// no API reader was given (unit tests).
func (r *ChainNetworkReconciler) uncached() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}
