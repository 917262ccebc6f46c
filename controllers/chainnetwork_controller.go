package controllers

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// rotationPoll is how soon a network with a key rotation under way is looked at again.
const rotationPoll = 2 * time.Second

// StatusRefresh is how often a network's status is recomputed from its nodes without any event.
const StatusRefresh = 30 * time.Second

// ChainNetworkReconciler turns a ChainNetwork into the objects that run it.
type ChainNetworkReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
	// Nodes reads a node's /v1/status; nil skips chain figures.
	Nodes NodeStatusReader
	// Poller reads the nodes in the background (SetupWithManager starts one when Nodes is set);
	// Reconcile takes the chain figures from it.
	Poller *NodePoller
	// Reconciles counts Reconcile calls (for the scale benchmark).
	Reconciles func()
	// APIReader, when set, reads the ChainNetwork past the cache: status transitions depend on
	// the previous status, which our own last write may not have reached the cache with yet.
	APIReader client.Reader
}

// The verbs are those the code uses: server-side apply is "patch" (and "create" for a new
// object), nothing is updated; what is cached needs list and watch; Leases and VolumeSnapshots
// are read past the cache. Storage classes are cluster-scoped: the chart grants them apart.
// +kubebuilder:rbac:groups=chainnet.io,resources=chainnetworks,verbs=get;list;watch
// +kubebuilder:rbac:groups=chainnet.io,resources=chainnetworks/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots,verbs=list;create;delete
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=servicemonitors,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;patch;delete

// Reconcile runs the network's idempotent steps in order, then its status.
func (r *ChainNetworkReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if r.Reconciles != nil {
		r.Reconciles()
	}
	cn := &chainv1.ChainNetwork{}
	var reader client.Reader = r.Client
	if r.APIReader != nil {
		reader = r.APIReader
	}
	if err := reader.Get(ctx, req.NamespacedName, cn); err != nil {
		if apierrors.IsNotFound(err) {
			forgetNetworkMetrics(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !cn.DeletionTimestamp.IsZero() {
		forgetNetworkMetrics(cn.Namespace, cn.Name)
		return ctrl.Result{}, nil // owned objects go with it (garbage collection); PVCs and keys stay
	}
	if cn.Spec.Paused {
		log.FromContext(ctx).V(1).Info("paused")
		return ctrl.Result{}, nil
	}
	keys, err := r.ensureKeySecrets(ctx, cn)
	if err != nil {
		return r.failed(ctx, cn, "KeysFailed", err)
	}
	admins, err := r.ensureAdminKeys(ctx, cn)
	if err != nil {
		return r.failed(ctx, cn, "KeysFailed", err)
	}
	// A rotation that cannot move on now must not hold back the steps after it (StatefulSets,
	// status, healing, upgrades): its error is reported once they have run.
	rotationErr := r.rotateKeys(ctx, cn)
	genesisHash, err := r.ensureGenesis(ctx, cn, keys, admins)
	if err != nil {
		return r.failed(ctx, cn, "GenesisFailed", err)
	}
	permVersion, err := r.ensurePermissions(ctx, cn, keys)
	if err != nil {
		return r.failed(ctx, cn, "PermissionsFailed", err)
	}
	if err := r.noteAdmittedVersion(ctx, cn, permVersion); err != nil && rotationErr == nil {
		rotationErr = err
	}
	if err := r.ensureNetworkObjects(ctx, cn, keys); err != nil {
		return r.failed(ctx, cn, "ServicesFailed", err)
	}
	if err := r.restoreNewClaims(ctx, cn, genesisHash); err != nil {
		return r.failed(ctx, cn, "RestoreFailed", err)
	}
	if err := r.ensureStatefulSets(ctx, cn, genesisHash); err != nil {
		return r.failed(ctx, cn, "StatefulSetsFailed", err)
	}
	if err := r.ensureP2PServices(ctx, cn); err != nil {
		return r.failed(ctx, cn, "ServicesFailed", err)
	}
	if err := r.reconcileGovernance(ctx, cn, keys, admins); err != nil {
		return r.failed(ctx, cn, "GovernanceFailed", err)
	}
	if err := r.ensureServiceMonitor(ctx, cn); err != nil {
		return r.failed(ctx, cn, "ServiceMonitorFailed", err)
	}
	if err := r.removeDeletedOrganizations(ctx, cn); err != nil {
		return r.failed(ctx, cn, "CleanupFailed", err)
	}
	upgraded := cn.Status.UpgradedHeight
	if err := r.updateStatus(ctx, cn, genesisHash, permVersion); err != nil {
		return ctrl.Result{}, err
	}
	if rotationErr != nil {
		return r.failed(ctx, cn, "KeyRotationFailed", rotationErr)
	}
	if cn.Status.UpgradedHeight != upgraded {
		// Every node reached a scheduled upgrade: roll them to its image now.
		return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
	}
	next := StatusRefresh
	if h := cn.Status.Healing; h != nil && len(h.Lagging) > 0 {
		// A lagging node is restarted once its grace period ends: look again by then.
		next = min(next, time.Duration(cn.Spec.SelfHealing.GracePeriodSeconds)*time.Second/2+time.Second)
	}
	if activeRotation(cn) != nil {
		// A rotation moves one phase per pass, and its own status writes start no pass.
		next = min(next, rotationPoll)
	}
	return ctrl.Result{RequeueAfter: next}, nil
}

// apply server-side applies obj as the operator's field manager: a second apply of the same
// desired object is a no-op that leaves resourceVersion unchanged.
func (r *ChainNetworkReconciler) apply(ctx context.Context, cn *chainv1.ChainNetwork, obj client.Object) error {
	gvk, err := apiutil.GVKForObject(obj, r.Scheme)
	if err != nil {
		return err
	}
	if err := r.checkStored(ctx, cn, obj); err != nil {
		return err
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	return nil
}

// checkStored refuses to overwrite an object of the same name that another network owns
// (ForceOwnership would take it over).
func (r *ChainNetworkReconciler) checkStored(ctx context.Context, cn *chainv1.ChainNetwork, obj client.Object) error {
	stored, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return fmt.Errorf("%T is not a client.Object", obj)
	}
	if err := r.Get(ctx, client.ObjectKeyFromObject(obj), stored); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return nil
		}
		return fmt.Errorf("read %s: %w", obj.GetName(), err)
	}
	return checkOwner(cn, stored, obj.GetLabels()[LabelOrg])
}

// createOnce creates obj unless it exists; existing objects are left untouched. When it exists
// (the cache did not show it yet, or another pass made it first), obj is overwritten with the
// stored object, read past the cache: callers go on with what the API server holds, never with
// what they generated (keys, a genesis) for a create that did not happen. After any other error
// obj must not be used.
func (r *ChainNetworkReconciler) createOnce(ctx context.Context, cn *chainv1.ChainNetwork, obj client.Object) (bool, error) {
	org := obj.GetLabels()[LabelOrg]
	err := r.Create(ctx, obj)
	if err == nil {
		return true, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return false, err
	}
	if err := r.liveReader().Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return false, fmt.Errorf("read back %s: %w", obj.GetName(), err)
	}
	return false, checkOwner(cn, obj, org)
}

// SetupWithManager watches ChainNetworks and the objects they own.
// With a node reader it also runs the node poller, whose changes enqueue the network.
func (r *ChainNetworkReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Nodes != nil && r.Poller == nil {
		r.Poller = NewNodePoller(mgr.GetClient(), r.Nodes)
	}
	b := ctrl.NewControllerManagedBy(mgr)
	if r.Poller != nil {
		if err := mgr.Add(r.Poller); err != nil {
			return fmt.Errorf("add node poller: %w", err)
		}
		b = b.WatchesRawSource(r.Poller.Source())
	}
	return b.
		// Our own status writes change no generation: they must not trigger another pass.
		For(&chainv1.ChainNetwork{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{},
			predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Owns(&appsv1.StatefulSet{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Owns(&networkingv1.NetworkPolicy{}).
		Complete(r)
}
