package controllers

import (
	"testing"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

func TestPodDisruptionBudgetAllowsOneAtATime(t *testing.T) {
	cn := network(chainv1.Public, org("default", 3, 0))
	p := podDisruptionBudget(cn, "default", RoleValidator)
	if p.Spec.MaxUnavailable.IntValue() != 1 || p.Spec.Selector.MatchLabels[LabelRole] != RoleValidator || p.Name != "net-default-validator" {
		t.Fatalf("pdb: %+v", p.Spec)
	}
}
