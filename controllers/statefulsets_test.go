package controllers

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

func TestStatefulSetTemplateDoesNotDependOnReplicas(t *testing.T) {
	cn := network(chainv1.Consortium, org("org1", 2, 1))
	a := statefulSet(cn, cn.Spec.Organizations[0], RoleValidator, "g")
	cn.Spec.Organizations[0].Validators = 5
	b := statefulSet(cn, cn.Spec.Organizations[0], RoleValidator, "g")
	if *b.Spec.Replicas != 5 || !reflect.DeepEqual(a.Spec.Template, b.Spec.Template) {
		t.Fatal("scaling must change replicas only, never the pod template")
	}
	if n := len(a.Spec.Template.Spec.Volumes[2].Projected.Sources); n != chainv1.MaxNodesPerRole {
		t.Fatalf("want %d optional key sources, got %d", chainv1.MaxNodesPerRole, n)
	}
	cn.Spec.Image = "chainnet/chainnode:9"
	c := statefulSet(cn, cn.Spec.Organizations[0], RoleValidator, "g")
	if c.Spec.Template.Annotations[AnnotationConfigHash] == a.Spec.Template.Annotations[AnnotationConfigHash] {
		t.Fatal("an image change must change the config hash")
	}
}

func TestNodePodsHoldNoAPITokenAndSkipVolumeReowning(t *testing.T) {
	cn := network(chainv1.Public, org("default", 1, 0))
	spec := statefulSet(cn, cn.Spec.Organizations[0], RoleValidator, "g").Spec.Template.Spec
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Fatal("node pods must not mount a service-account token")
	}
	if p := spec.SecurityContext.FSGroupChangePolicy; p == nil || *p != corev1.FSGroupChangeOnRootMismatch {
		t.Fatal("fsGroupChangePolicy must be OnRootMismatch")
	}
}

func TestNodeArgsByRoleAndMembership(t *testing.T) {
	cn := network(chainv1.Consortium, org("org1", 1, 1))
	v := nodeArgs(cn, cn.Spec.Organizations[0], RoleValidator)
	o := nodeArgs(cn, cn.Spec.Organizations[0], RoleObserver)
	if !slices.Contains(v, "--mine") || slices.Contains(o, "--mine") {
		t.Fatal("validators mine, observers never")
	}
	if !slices.Contains(v, "--permissions") || !slices.Contains(v, "org1") {
		t.Fatal("permissioned nodes get their organization and the permission file")
	}
	if !strings.Contains(strings.Join(v, " "), "--advertise-addr $(POD_NAME).net-p2p.$(POD_NAMESPACE).svc:9333") {
		t.Fatalf("advertise address: %v", v)
	}
	pub := network(chainv1.Public, org("default", 1, 0))
	if slices.Contains(nodeArgs(pub, pub.Spec.Organizations[0], RoleValidator), "--permissions") {
		t.Fatal("public nodes have no permission file")
	}
	s := statefulSet(cn, cn.Spec.Organizations[0], RoleValidator, "g")
	if s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != "Retain" || s.Spec.Template.Spec.Affinity.PodAntiAffinity == nil {
		t.Fatal("PVCs retained; pods spread by default")
	}
	if s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String() != "1Gi" {
		t.Fatal("default volume size is 1Gi")
	}
}
