package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// stepFailure is a maintenance step that failed, with the condition reason it reports.
type stepFailure struct {
	reason string
	err    error
}

type stepFailures []stepFailure

func (f stepFailures) err() error {
	errs := make([]error, len(f))
	for i, s := range f {
		errs[i] = s.err
	}
	return errors.Join(errs...)
}

// maintain runs the steps that act on the chain figures just observed: self-healing, volume
// growth and snapshots. They are independent: each runs whatever the others did, and a failure
// is returned to be reported in the conditions, not to stop the status from being written.
// Figures the poller has not refreshed since the operator started are acted on by none of them.
func (r *ChainNetworkReconciler) maintain(ctx context.Context, cn *chainv1.ChainNetwork, obs *observation) stepFailures {
	st := obs.status
	var chain *chainv1.ChainStatus
	if obs.fresh {
		chain = st.Chain
	}
	steps := []struct {
		reason string
		run    func() error
	}{
		{"HealingFailed", func() error {
			if !obs.fresh {
				return nil
			}
			return r.heal(ctx, cn, st, obs.pods, obs.rolling)
		}},
		{"VolumeGrowthFailed", func() error { return r.growVolumes(ctx, cn, chain) }},
		{"SnapshotsFailed", func() error {
			snaps, err := r.ensureSnapshots(ctx, cn, chain)
			if err == nil {
				st.Snapshots = snaps
			}
			return err
		}},
	}
	var failures stepFailures
	for _, s := range steps {
		if err := s.run(); err != nil {
			r.event(cn, corev1.EventTypeWarning, s.reason, "%v", err)
			failures = append(failures, stepFailure{reason: s.reason, err: fmt.Errorf("%s: %w", s.reason, err)})
		}
	}
	return failures
}

// markFailures reports the first failed step in Ready (False) and Degraded (True), and in their
// kstatus mirrors, over what the nodes alone would say.
func markFailures(cn *chainv1.ChainNetwork, st *chainv1.ChainNetworkStatus, failures stepFailures) {
	if len(failures) == 0 {
		return
	}
	setFailed(st, cn.Generation, failures[0].reason, failures[0].err)
}

// setFailed marks the status not Ready and Degraded for reason: a step the operator could not
// carry out leaves the network short of its spec, whatever its pods say.
func setFailed(st *chainv1.ChainNetworkStatus, generation int64, reason string, err error) {
	for _, c := range []struct {
		t      string
		status metav1.ConditionStatus
	}{{chainv1.ConditionReady, metav1.ConditionFalse}, {chainv1.ConditionDegraded, metav1.ConditionTrue}, {chainv1.ConditionStalled, metav1.ConditionTrue}} {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: c.t, Status: c.status, Reason: reason, Message: err.Error(), ObservedGeneration: generation})
	}
}
