package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

func TestGrownSize(t *testing.T) {
	policy := chainv1.AutoGrow{UsedPercent: 80, MaxSize: resource.MustParse("3Gi")}
	steps := []struct{ from, to string }{{"1Gi", "1536Mi"}, {"1536Mi", "2304Mi"}, {"2304Mi", "3Gi"}}
	for _, s := range steps {
		got, ok := grownSize(resource.MustParse(s.from), policy)
		if want := resource.MustParse(s.to); !ok || got.Cmp(want) != 0 {
			t.Errorf("%s grows to %s (%v), want %s", s.from, got.String(), ok, s.to)
		}
	}
	if _, ok := grownSize(resource.MustParse("3Gi"), policy); ok {
		t.Error("a claim at MaxSize grew")
	}
}

func TestResizePending(t *testing.T) {
	pvc := func(want, have string, cond corev1.PersistentVolumeClaimConditionType) *corev1.PersistentVolumeClaim {
		p := &corev1.PersistentVolumeClaim{}
		p.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(want)}
		if have != "" {
			p.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(have)}
		}
		if cond != "" {
			p.Status.Conditions = []corev1.PersistentVolumeClaimCondition{{Type: cond, Status: corev1.ConditionTrue}}
		}
		return p
	}
	for _, c := range []struct {
		name string
		pvc  *corev1.PersistentVolumeClaim
		want bool
	}{
		{"settled", pvc("1Gi", "1Gi", ""), false},
		{"asked for more than it has", pvc("2Gi", "1Gi", ""), true},
		{"not provisioned yet", pvc("1Gi", "", ""), true},
		{"file system resize pending", pvc("2Gi", "2Gi", corev1.PersistentVolumeClaimFileSystemResizePending), true},
	} {
		if got := resizePending(c.pvc); got != c.want {
			t.Errorf("%s: pending %v, want %v", c.name, got, c.want)
		}
	}
}
