// Command podnet is the pod network of the kind clusters built in hack/kind: the job of kind's
// kindnetd (whose source is not on the module proxy) done with the CNI plugins the node image
// ships. On every node it writes the CNI configuration for the node's podCIDR (ptp + host-local +
// portmap), keeps one route per other node's podCIDR through that node's address, and masquerades
// pod traffic leaving the cluster's pod range (kindnetd's job too).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func main() {
	cniDir := flag.String("cni-conf-dir", "/etc/cni/net.d", "where the kubelet's container runtime reads CNI configurations")
	interval := flag.Duration("interval", 10*time.Second, "how often nodes are listed and routes reconciled")
	mtu := flag.Int("mtu", 1500, "MTU of the pods' interfaces")
	clusterCIDR := flag.String("cluster-cidr", "10.244.0.0/16", "the cluster's pod range (kind's podSubnet); traffic leaving it is masqueraded")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	_, cluster, err := net.ParseCIDR(*clusterCIDR)
	if err != nil {
		log.Error("--cluster-cidr", "err", err)
		os.Exit(1)
	}
	nodeName := os.Getenv("NODE_NAME")
	if nodeName == "" {
		log.Error("NODE_NAME is not set")
		os.Exit(1)
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		log.Error("no in-cluster configuration", "err", err)
		os.Exit(1)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	for {
		if err := reconcile(ctx, client, nodeName, *cniDir, *mtu, log); err != nil {
			log.Error("reconcile", "err", err)
		}
		if err := ensureMasquerade(cluster); err != nil {
			log.Error("masquerade", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(*interval):
		}
	}
}

// reconcile brings this node's CNI configuration and routes in line with the cluster's nodes.
func reconcile(ctx context.Context, client kubernetes.Interface, self, cniDir string, mtu int, log *slog.Logger) error {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	var podCIDR string
	for _, n := range nodes.Items {
		if n.Name == self {
			podCIDR = n.Spec.PodCIDR
		}
	}
	if podCIDR == "" {
		return fmt.Errorf("node %s has no podCIDR yet", self)
	}
	conf, err := cniConfig(podCIDR, mtu)
	if err != nil {
		return err
	}
	if changed, err := writeIfChanged(filepath.Join(cniDir, "10-podnet.conflist"), conf); err != nil {
		return err
	} else if changed {
		log.Info("CNI configuration written", "podCIDR", podCIDR)
	}
	for _, r := range routesTo(nodes.Items, self) {
		if err := netlink.RouteReplace(&netlink.Route{Dst: r.dst, Gw: r.via}); err != nil {
			return fmt.Errorf("route %s via %s: %w", r.dst, r.via, err)
		}
	}
	return nil
}

// route sends one node's pod range through that node.
type route struct {
	dst *net.IPNet
	via net.IP
}

// routesTo lists the routes this node needs: every other node's podCIDRs through its first
// InternalIP of the same family. Nodes without a podCIDR or an address are skipped until they
// have one.
func routesTo(nodes []corev1.Node, self string) []route {
	var out []route
	for _, n := range nodes {
		if n.Name == self {
			continue
		}
		cidrs := n.Spec.PodCIDRs
		if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
			cidrs = []string{n.Spec.PodCIDR}
		}
		for _, c := range cidrs {
			_, dst, err := net.ParseCIDR(c)
			if err != nil {
				continue
			}
			if via := internalIP(n, dst.IP.To4() != nil); via != nil {
				out = append(out, route{dst: dst, via: via})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].dst.String() < out[j].dst.String() })
	return out
}

func internalIP(n corev1.Node, v4 bool) net.IP {
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip := net.ParseIP(a.Address); ip != nil && (ip.To4() != nil) == v4 {
			return ip
		}
	}
	return nil
}

// cniConfig is the node's CNI configuration list: a point-to-point veth per pod with an address
// from the node's podCIDR, and host port mappings.
func cniConfig(podCIDR string, mtu int) ([]byte, error) {
	if _, _, err := net.ParseCIDR(podCIDR); err != nil {
		return nil, fmt.Errorf("podCIDR %q: %w", podCIDR, err)
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "podnet",
		"plugins": []any{
			map[string]any{
				"type": "ptp",
				"mtu":  mtu,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state",
					"routes":  []any{map[string]any{"dst": "0.0.0.0/0"}},
					"ranges":  []any{[]any{map[string]any{"subnet": podCIDR}}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]any{"portMappings": true}},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// writeIfChanged replaces path with data atomically, only when the content differs, so the
// runtime never reads a half-written file.
func writeIfChanged(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
}
