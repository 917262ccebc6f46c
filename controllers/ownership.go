package controllers

import (
	"errors"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// Names are built by joining the network's, the organization's and the role's names with "-":
// network "a" with organization "b-c" and network "a-b" with organization "c" name the same
// objects. Before touching an object the operator checks that it is the network's own, so the
// second network is refused (a NameConflict condition and event) instead of adopting the first
// one's keys or rolling its StatefulSets.

// ForeignObjectError says an object a network's names point at belongs to something else.
type ForeignObjectError struct {
	Kind, Name, Owner string
}

func (e *ForeignObjectError) Error() string {
	return fmt.Sprintf("%s %s belongs to %s: this network's names collide with it (rename the network or the organization)", e.Kind, e.Name, e.Owner)
}

// IsForeignObject tells whether err (or an error it wraps) is a ForeignObjectError.
func IsForeignObject(err error) bool {
	var f *ForeignObjectError
	return errors.As(err, &f)
}

// checkOwner returns a ForeignObjectError unless obj, as stored, may be the network's: its
// network label (when set) names cn, its organization label (when set, and org is not empty)
// names org, and its controller (when it is a ChainNetwork) is cn. Objects without our labels
// (made by hand, or by an operator version that set none) are not refused.
func checkOwner(cn *chainv1.ChainNetwork, obj client.Object, org string) error {
	kind := fmt.Sprintf("%T", obj)
	if gvk := obj.GetObjectKind().GroupVersionKind(); gvk.Kind != "" {
		kind = gvk.Kind
	}
	labels := obj.GetLabels()
	if net, ok := labels[LabelNetwork]; ok && net != cn.Name {
		return &ForeignObjectError{Kind: kind, Name: obj.GetName(), Owner: "network " + net}
	}
	if o, ok := labels[LabelOrg]; ok && org != "" && o != org {
		return &ForeignObjectError{Kind: kind, Name: obj.GetName(), Owner: fmt.Sprintf("organization %s of network %s", o, labels[LabelNetwork])}
	}
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller && ref.Kind == "ChainNetwork" && ref.Name != cn.Name {
			return &ForeignObjectError{Kind: kind, Name: obj.GetName(), Owner: "network " + ref.Name}
		}
	}
	return nil
}

// failureReason is the condition reason of a failed step: a name conflict whatever the step.
func failureReason(step string, err error) string {
	if IsForeignObject(err) {
		return "NameConflict"
	}
	if IsGenesisMismatch(err) {
		return "GenesisMismatch"
	}
	return step
}
