// Command manager is the chainnet operator: it reconciles ChainNetworks into running networks of
// chainnode pods.
package main

import (
	"crypto/tls"
	"flag"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
)

// flags are the manager's command line.
type flags struct {
	metricsAddr, probeAddr, watchNamespaces string
	secureMetrics, leaderElect              bool
	qps                                     float64
	burst                                   int
}

func parseFlags() (flags, zap.Options) {
	var f flags
	flag.StringVar(&f.metricsAddr, "metrics-bind-address", ":8443", "metrics endpoint address (0 disables)")
	flag.BoolVar(&f.secureMetrics, "metrics-secure", true,
		"serve metrics over HTTPS to authenticated and authorized clients only (TokenReview and SubjectAccessReview)")
	flag.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "health probe address")
	flag.BoolVar(&f.leaderElect, "leader-elect", true, "elect a leader: only one replica reconciles")
	flag.StringVar(&f.watchNamespaces, "watch-namespaces", "", "comma-separated namespaces to watch (empty: all)")
	flag.Float64Var(&f.qps, "kube-api-qps", 100, "requests per second to the API server")
	flag.IntVar(&f.burst, "kube-api-burst", 200, "burst of requests to the API server")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	return f, opts
}

// metricsOptions serves metrics as kubebuilder scaffolds it: HTTPS (a self-signed certificate
// unless one is mounted), HTTP/2 off (CVE-2023-44487, CVE-2023-39325), and every request
// authenticated and authorized against the API server.
func metricsOptions(f flags) metricsserver.Options {
	o := metricsserver.Options{BindAddress: f.metricsAddr, SecureServing: f.secureMetrics,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}}
	if f.secureMetrics {
		o.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	return o
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func main() {
	f, zopts := parseFlags()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zopts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chainv1.AddToScheme(scheme))

	restCfg := ctrl.GetConfigOrDie()
	restCfg.QPS, restCfg.Burst = float32(f.qps), f.burst
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  controllers.CacheOptions(splitList(f.watchNamespaces)),
		Metrics:                metricsOptions(f),
		HealthProbeBindAddress: f.probeAddr,
		LeaderElection:         f.leaderElect,
		LeaderElectionID:       "chainnet-operator.chainnet.io",
		// A replica that loses the lease exits at once instead of finishing its passes: the new
		// leader must be the only one acting on a network.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		log.Error(err, "create manager")
		os.Exit(1)
	}
	r := &controllers.ChainNetworkReconciler{Client: mgr.GetClient(), Scheme: mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("chainnet-operator"), Nodes: controllers.HTTPNodeStatus{}, APIReader: mgr.GetAPIReader()}
	if err := r.SetupWithManager(mgr); err != nil {
		log.Error(err, "set up controller")
		os.Exit(1)
	}
	utilruntime.Must(mgr.AddHealthzCheck("healthz", healthz.Ping))
	utilruntime.Must(mgr.AddReadyzCheck("readyz", healthz.Ping))
	log.Info("starting manager")
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}
