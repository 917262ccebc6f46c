package controllers_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
)

var (
	cfg        *rest.Config
	k8s        client.Client
	cached     client.Reader // the manager's cache
	scheme     = runtime.NewScheme()
	testEnv    *envtest.Environment
	reconciler *controllers.ChainNetworkReconciler
	cancelMgr  context.CancelFunc
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chainv1.AddToScheme(scheme))
}

func TestControllers(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set: run `make test` (it builds kube-apiserver and etcd into bin/k8s)")
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "controllers (envtest)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases"), filepath.Join("testdata", "crds")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	// The suite's manager leaves the fault-injection namespace to the managers that spec starts.
	opts := controllers.CacheOptions(nil)
	opts.DefaultNamespaces = map[string]cache.Config{cache.AllNamespaces: {
		FieldSelector: fields.OneTermNotEqualSelector("metadata.namespace", faultsNamespace)}}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Cache: opts, Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	cached = mgr.GetCache()
	reconciler = &controllers.ChainNetworkReconciler{Client: mgr.GetClient(), Scheme: scheme,
		Recorder: mgr.GetEventRecorder("chainnet-operator"), Nodes: controllers.HTTPNodeStatus{}, APIReader: mgr.GetAPIReader()}
	Expect(reconciler.SetupWithManager(mgr)).To(Succeed())
	var ctx context.Context
	ctx, cancelMgr = context.WithCancel(context.Background())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
})

var _ = AfterSuite(func() {
	if cancelMgr != nil {
		cancelMgr()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
