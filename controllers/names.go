// Package controllers reconciles ChainNetworks: pure builder functions make the desired objects
// (one file per kind), and the reconciler applies them in order and reports status.
package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// Labels and annotations.
const (
	LabelNetwork   = "chainnet.io/network"
	LabelOrg       = "chainnet.io/organization"
	LabelRole      = "chainnet.io/role"
	LabelComponent = "chainnet.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"

	AnnotationConfigHash         = "chainnet.io/config-hash"
	AnnotationPermissionsVersion = "chainnet.io/permissions-version"
	AnnotationGenesisHash        = "chainnet.io/genesis-hash"

	RoleValidator = "validator"
	RoleObserver  = "observer"

	// FieldOwner is the server-side apply field manager.
	FieldOwner = "chainnet-operator"
)

// Ports inside the pods.
const (
	apiPortName = "api"
	p2pPortName = "p2p"
)

func networkLabels(cn *chainv1.ChainNetwork) map[string]string {
	return map[string]string{
		LabelNetwork:   cn.Name,
		LabelName:      "chainnode",
		LabelInstance:  cn.Name,
		LabelManagedBy: "chainnet-operator",
	}
}

func setLabels(cn *chainv1.ChainNetwork, org, role string) map[string]string {
	l := networkLabels(cn)
	l[LabelOrg] = org
	l[LabelRole] = role
	l[LabelComponent] = "node"
	return l
}

// selectorLabels select the pods of one StatefulSet (a subset of setLabels that never changes).
func selectorLabels(cn *chainv1.ChainNetwork, org, role string) map[string]string {
	return map[string]string{LabelNetwork: cn.Name, LabelOrg: org, LabelRole: role}
}

func ownerRef(cn *chainv1.ChainNetwork) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: chainv1.GroupVersion.String(), Kind: "ChainNetwork", Name: cn.Name,
		UID: cn.UID, Controller: &t, BlockOwnerDeletion: &t}
}

func objectMeta(cn *chainv1.ChainNetwork, name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: cn.Namespace, Labels: labels, OwnerReferences: []metav1.OwnerReference{ownerRef(cn)}}
}

// StatefulSetName is the StatefulSet of an organization's role.
func StatefulSetName(cn *chainv1.ChainNetwork, org, role string) string {
	return fmt.Sprintf("%s-%s-%s", cn.Name, org, role)
}

// PodName is the name of ordinal i of a StatefulSet.
func PodName(cn *chainv1.ChainNetwork, org, role string, i int32) string {
	return fmt.Sprintf("%s-%d", StatefulSetName(cn, org, role), i)
}

// KeySecretName is the Secret holding a node's keys.
func KeySecretName(cn *chainv1.ChainNetwork, org, role string, i int32) string {
	return PodName(cn, org, role, i) + "-keys"
}

// DataClaimName is the data claim of a node's pod (the StatefulSet controller's naming:
// claim template name, pod name).
func DataClaimName(pod string) string { return "data-" + pod }

// HeadlessServiceName is the DNS seed of the network.
func HeadlessServiceName(cn *chainv1.ChainNetwork) string { return cn.Name + "-p2p" }

// ClientServiceName serves the API.
func ClientServiceName(cn *chainv1.ChainNetwork) string { return cn.Name + "-api" }

// GenesisConfigMapName, PermissionsConfigMapName and NodeConfigMapName name the ConfigMaps.
func GenesisConfigMapName(cn *chainv1.ChainNetwork) string     { return cn.Name + "-genesis" }
func PermissionsConfigMapName(cn *chainv1.ChainNetwork) string { return cn.Name + "-permissions" }
func NodeConfigMapName(cn *chainv1.ChainNetwork) string        { return cn.Name + "-node-config" }

// PodDNSName is the stable DNS name of a node.
func PodDNSName(cn *chainv1.ChainNetwork, org, role string, i int32) string {
	return fmt.Sprintf("%s.%s.%s.svc", PodName(cn, org, role, i), HeadlessServiceName(cn), cn.Namespace)
}

// node is one desired node.
type node struct {
	Org, Role string
	Ordinal   int32
}

// desiredNodes lists every node the spec asks for, in a stable order.
func desiredNodes(cn *chainv1.ChainNetwork) []node {
	var out []node
	for _, o := range cn.Spec.Organizations {
		for i := int32(0); i < o.Validators; i++ {
			out = append(out, node{o.Name, RoleValidator, i})
		}
		for i := int32(0); i < o.Observers; i++ {
			out = append(out, node{o.Name, RoleObserver, i})
		}
	}
	return out
}

func permissioned(cn *chainv1.ChainNetwork) bool { return cn.Spec.Membership != chainv1.Public }

// hashOf is a short stable hash of strings.
func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
