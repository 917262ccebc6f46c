package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/internal/keys"
)

// SecretAdminKey is the key of an organization's admin key Secret (the chainnode key file format).
const SecretAdminKey = "admin-key.json"

// AdminSecretName is the Secret holding an organization's admin key: it signs the organization's
// governance transactions (proposals, approvals, changes to its own nodes and miner keys) and never
// leaves the cluster.
func AdminSecretName(cn *chainv1.ChainNetwork, org string) string {
	return fmt.Sprintf("%s-%s-admin", cn.Name, org)
}

// adminSecret builds the admin key Secret of an organization with a freshly generated key. Like
// node keys, it has no owner: an organization's identity outlives the ChainNetwork object.
func adminSecret(cn *chainv1.ChainNetwork, org string) (*corev1.Secret, error) {
	k, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	b, err := keys.Marshal(k)
	if err != nil {
		return nil, err
	}
	labels := networkLabels(cn)
	labels[LabelOrg] = org
	labels[LabelComponent] = "admin-key"
	s := &corev1.Secret{ObjectMeta: objectMeta(cn, AdminSecretName(cn, org), labels), Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{SecretAdminKey: b}}
	s.Annotations = map[string]string{"chainnet.io/admin-key": k.NodeID()}
	s.OwnerReferences = nil
	return s, nil
}

// ensureAdminKeys creates the admin key Secret of every organization of a permissioned network
// that has none and returns every organization's admin key. If another pass created it first,
// that Secret's key is the organization's, never the one generated here (createOnce).
func (r *ChainNetworkReconciler) ensureAdminKeys(ctx context.Context, cn *chainv1.ChainNetwork) (map[string]*keys.Key, error) {
	if !permissioned(cn) {
		return nil, nil
	}
	out := map[string]*keys.Key{}
	for _, o := range cn.Spec.Organizations {
		name := client.ObjectKey{Namespace: cn.Namespace, Name: AdminSecretName(cn, o.Name)}
		s := &corev1.Secret{}
		err := r.Get(ctx, name, s)
		if apierrors.IsNotFound(err) {
			fresh, err := adminSecret(cn, o.Name)
			if err != nil {
				return nil, err
			}
			made, err := r.createOnce(ctx, cn, fresh)
			if err != nil {
				return nil, fmt.Errorf("create admin key secret %s: %w", fresh.Name, err)
			}
			if made {
				r.event(cn, corev1.EventTypeNormal, "AdminKeyGenerated", "Generated the admin key of organization %s", o.Name)
			}
			s = fresh // what the API server holds, whoever created it
		} else if err != nil {
			return nil, err
		} else if err := checkOwner(cn, s, o.Name); err != nil {
			return nil, err
		}
		k, err := keys.Parse(s.Data[SecretAdminKey])
		if err != nil {
			return nil, fmt.Errorf("secret %s: %s: %w", s.Name, SecretAdminKey, err)
		}
		out[o.Name] = k
	}
	return out, nil
}

// liveReader reads past the informer cache when the manager gave us an API reader.
func (r *ChainNetworkReconciler) liveReader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}
