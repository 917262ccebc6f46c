package controllers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chainv1 "github.com/chainnet/chainnet/api/v1alpha1"
	"github.com/chainnet/chainnet/controllers"
)

// BenchmarkFiveHundredNetworks creates 500 ChainNetworks at once against a real API server and
// reports how long until every one has observedGeneration == generation, the reconciles per
// network it took, and the reconciles per network in the 10 s after (events still queued from
// owned objects; a hot loop would show as a large number there).
func BenchmarkFiveHundredNetworks(b *testing.B) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		b.Skip("KUBEBUILDER_ASSETS is not set (make envtest)")
	}
	networks := 500
	if v, err := strconv.Atoi(os.Getenv("CHAINNET_SCALE_NETWORKS")); err == nil && v > 0 {
		networks = v
	}
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	// envtest's default Service range is a /24: 254 client Services would fill it.
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.0.0.0/16")
	cfg, err := env.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer env.Stop()
	// client-go's default of 5 requests/s would measure the client's rate limiter, not the
	// reconciler; the manager runs with the same limits (cmd/manager flags).
	cfg.QPS, cfg.Burst = 100, 200
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		b.Fatal(err)
	}
	var reconciles atomic.Int64
	r := &controllers.ChainNetworkReconciler{Client: mgr.GetClient(), Scheme: scheme, Reconciles: func() { reconciles.Add(1) }}
	if err := r.SetupWithManager(mgr); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = mgr.Start(ctx) }()
	ns := "scale"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < networks; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cn := &chainv1.ChainNetwork{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("net-%03d", i), Namespace: ns},
				Spec: chainv1.ChainNetworkSpec{Membership: chainv1.Public, Organizations: []chainv1.Organization{{Name: "default", Validators: 1}}}}
			if err := c.Create(ctx, cn); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	for {
		var list chainv1.ChainNetworkList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		done := 0
		for _, cn := range list.Items {
			if cn.Status.ObservedGeneration == cn.Generation {
				done++
			}
		}
		if done == networks {
			break
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("%d of %d networks reconciled after 10 minutes", done, networks)
		}
		time.Sleep(500 * time.Millisecond)
	}
	took := time.Since(start)
	settled := reconciles.Load()
	time.Sleep(10 * time.Second)
	quiet := reconciles.Load() - settled
	b.ReportMetric(took.Seconds(), "s-all-reconciled")
	b.ReportMetric(float64(settled)/float64(networks), "reconciles/network")
	b.ReportMetric(float64(quiet)/float64(networks), "reconciles/network-in-next-10s")
}
