package controllers

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
)

// Mount paths in the node container.
const (
	dataPath        = "/data"
	genesisPath     = "/etc/chainnet/genesis"
	permissionsPath = "/etc/chainnet/permissions"
	configPath      = "/etc/chainnet/config"
	keysPath        = "/etc/chainnet/keys"
	dataVolume      = "data"
)

// statefulSet builds the StatefulSet of one organization's role. genesisHash goes into the
// config-hash annotation: what the pods were started with. Every ordinal's key Secret is mounted
// (optional) through one projected volume, so scaling changes replicas only and never the pod
// template: existing pods do not restart when the network grows.
func statefulSet(cn *chainv1.ChainNetwork, org chainv1.Organization, role, genesisHash string) *appsv1.StatefulSet {
	replicas := org.Validators
	if role == RoleObserver {
		replicas = org.Observers
	}
	labels := setLabels(cn, org.Name, role)
	args := nodeArgs(cn, org, role)
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      labels,
			Annotations: map[string]string{AnnotationConfigHash: hashOf(append([]string{nodeImage(cn), genesisHash}, args...)...)},
		},
		Spec: corev1.PodSpec{
			// A node never calls the Kubernetes API: a stolen pod holds no token to call it with.
			AutomountServiceAccountToken: ptr(false),
			// OnRootMismatch: a large chain volume is not walked and re-owned at every start.
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(65532)),
				RunAsGroup: ptr(int64(65532)), FSGroup: ptr(int64(65532)), FSGroupChangePolicy: ptr(corev1.FSGroupChangeOnRootMismatch),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			TerminationGracePeriodSeconds: ptr(int64(30)),
			Containers:                    []corev1.Container{nodeContainer(cn, org, args)},
			Volumes:                       nodeVolumes(cn, org.Name, role),
			NodeSelector:                  org.NodeSelector,
			Tolerations:                   org.Tolerations,
			Affinity:                      affinityFor(cn, org, role),
		},
	}
	storage := dataClaim(cn, org, role)
	storage.Name = dataVolume
	return &appsv1.StatefulSet{
		ObjectMeta: objectMeta(cn, StatefulSetName(cn, org.Name, role), labels),
		Spec: appsv1.StatefulSetSpec{
			Replicas:             &replicas,
			ServiceName:          HeadlessServiceName(cn),
			Selector:             &metav1.LabelSelector{MatchLabels: selectorLabels(cn, org.Name, role)},
			PodManagementPolicy:  appsv1.ParallelPodManagement,
			UpdateStrategy:       appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			Template:             template,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{storage},
			// Chain data is never lost by a delete or a scale-down.
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
		},
	}
}

// dataClaim is a node's data claim as the StatefulSet's claim template asks for it. The
// template cannot change once the StatefulSet exists (the API server refuses it with 422), so
// its labels are the selector's only, which never change; its size is the spec's at creation
// (ensureStatefulSets keeps an existing template and grows the claims themselves).
func dataClaim(cn *chainv1.ChainNetwork, org chainv1.Organization, role string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Labels: selectorLabels(cn, org.Name, role)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: org.Storage.StorageClassName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: specSize(org)}},
		},
	}
}

// specSize is the size the spec asks for an organization's volumes.
func specSize(org chainv1.Organization) resource.Quantity {
	if org.Storage.Size != nil && !org.Storage.Size.IsZero() {
		return *org.Storage.Size
	}
	return resource.MustParse("1Gi")
}

// nodeArgs are chainnode's flags; $(POD_NAME) and $(POD_NAMESPACE) are expanded by the kubelet.
func nodeArgs(cn *chainv1.ChainNetwork, org chainv1.Organization, role string) []string {
	s := cn.Spec.Service
	args := []string{"run",
		"--config", configPath + "/" + NodeConfigKey,
		"--data-dir", dataPath,
		"--genesis", genesisPath + "/" + GenesisKey,
		"--node-key", keysPath + "/$(POD_NAME)/" + SecretNodeKey,
		"--miner-key", keysPath + "/$(POD_NAME)/" + SecretMinerKey,
		"--api-addr", fmt.Sprintf("0.0.0.0:%d", s.APIPort),
		"--p2p-addr", fmt.Sprintf("0.0.0.0:%d", s.P2PPort),
		"--advertise-addr", fmt.Sprintf("$(POD_NAME).%s.$(POD_NAMESPACE).svc:%d", HeadlessServiceName(cn), s.P2PPort),
		"--role", role,
		"--log-format", "json",
	}
	if permissioned(cn) {
		args = append(args, "--org", org.Name, "--permissions", permissionsPath+"/"+PermissionsKey)
	}
	if role == RoleValidator {
		args = append(args, "--mine", "--miner-threads", fmt.Sprint(org.MinerThreads))
	}
	if h := pendingUpgrade(cn); h != nil {
		args = append(args, "--halt-height", fmt.Sprint(h.Height))
	}
	return args
}

func nodeContainer(cn *chainv1.ChainNetwork, org chainv1.Organization, args []string) corev1.Container {
	s := cn.Spec.Service
	probe := func(path string, period int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(apiPortName)}},
			PeriodSeconds: period, TimeoutSeconds: 2, FailureThreshold: 3}
	}
	mounts := []corev1.VolumeMount{
		{Name: dataVolume, MountPath: dataPath},
		{Name: "genesis", MountPath: genesisPath, ReadOnly: true},
		{Name: "config", MountPath: configPath, ReadOnly: true},
		{Name: "keys", MountPath: keysPath, ReadOnly: true},
	}
	if permissioned(cn) {
		mounts = append(mounts, corev1.VolumeMount{Name: "permissions", MountPath: permissionsPath, ReadOnly: true})
	}
	return corev1.Container{
		Name:            "chainnode",
		Image:           nodeImage(cn),
		ImagePullPolicy: cn.Spec.ImagePullPolicy,
		Args:            args,
		Env: []corev1.EnvVar{
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		},
		Ports: []corev1.ContainerPort{
			{Name: apiPortName, ContainerPort: s.APIPort, Protocol: corev1.ProtocolTCP},
			{Name: p2pPortName, ContainerPort: s.P2PPort, Protocol: corev1.ProtocolTCP},
		},
		Resources:      org.Resources,
		VolumeMounts:   mounts,
		StartupProbe:   &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString(apiPortName)}}, PeriodSeconds: 2, FailureThreshold: 60},
		LivenessProbe:  probe("/healthz", 10),
		ReadinessProbe: probe("/readyz", 5),
		SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false), ReadOnlyRootFilesystem: ptr(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
	}
}

func nodeVolumes(cn *chainv1.ChainNetwork, org, role string) []corev1.Volume {
	var sources []corev1.VolumeProjection
	for i := int32(0); i < chainv1.MaxNodesPerRole; i++ {
		pod := PodName(cn, org, role, i)
		sources = append(sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: KeySecretName(cn, org, role, i)},
			Optional:             ptr(true),
			Items: []corev1.KeyToPath{{Key: SecretNodeKey, Path: pod + "/" + SecretNodeKey},
				{Key: SecretMinerKey, Path: pod + "/" + SecretMinerKey}},
		}})
	}
	cmVolume := func(name, cm string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}}
	}
	vols := []corev1.Volume{
		cmVolume("genesis", GenesisConfigMapName(cn)),
		cmVolume("config", NodeConfigMapName(cn)),
		{Name: "keys", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources, DefaultMode: ptr(int32(0o440))}}},
	}
	if permissioned(cn) {
		vols = append(vols, cmVolume("permissions", PermissionsConfigMapName(cn)))
	}
	return vols
}

// affinityFor spreads a StatefulSet's pods over nodes unless the organization says otherwise.
func affinityFor(cn *chainv1.ChainNetwork, org chainv1.Organization, role string) *corev1.Affinity {
	if org.Affinity != nil {
		return org.Affinity
	}
	return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				TopologyKey:   "kubernetes.io/hostname",
				LabelSelector: &metav1.LabelSelector{MatchLabels: selectorLabels(cn, org.Name, role)},
			},
		}},
	}}
}
