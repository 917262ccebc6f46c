package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/nftables/expr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func node(name, cidr, ip string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: cidr}}
	if ip != "" {
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: ip}}
	}
	return n
}

func TestRoutesToOtherNodesOnly(t *testing.T) {
	nodes := []corev1.Node{
		node("cp", "10.244.0.0/24", "172.18.0.2"),
		node("w2", "10.244.2.0/24", "172.18.0.4"),
		node("w1", "10.244.1.0/24", "172.18.0.3"),
		node("new", "", "172.18.0.5"),       // no podCIDR yet
		node("noaddr", "10.244.3.0/24", ""), // no address yet
	}
	got := routesTo(nodes, "cp")
	if len(got) != 2 {
		t.Fatalf("routes = %v, want 2 (w1, w2)", got)
	}
	if got[0].dst.String() != "10.244.1.0/24" || got[0].via.String() != "172.18.0.3" ||
		got[1].dst.String() != "10.244.2.0/24" || got[1].via.String() != "172.18.0.4" {
		t.Fatalf("routes = %v", got)
	}
}

func TestCNIConfigNamesTheRange(t *testing.T) {
	b, err := cniConfig("10.244.1.0/24", 1400)
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		Plugins []struct {
			Type string
			MTU  int
			IPAM struct {
				Ranges [][]struct{ Subnet string }
			}
		}
	}
	if err := json.Unmarshal(b, &conf); err != nil {
		t.Fatal(err)
	}
	if conf.Plugins[0].Type != "ptp" || conf.Plugins[0].MTU != 1400 || conf.Plugins[0].IPAM.Ranges[0][0].Subnet != "10.244.1.0/24" || conf.Plugins[1].Type != "portmap" {
		t.Fatalf("config = %s", b)
	}
	if _, err := cniConfig("10.244.1.0", 1500); err == nil {
		t.Fatal("a podCIDR without a prefix length was accepted")
	}
}

func TestWriteIfChanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "net.d", "10-podnet.conflist")
	if changed, err := writeIfChanged(p, []byte("a")); err != nil || !changed {
		t.Fatalf("first write: changed=%v err=%v", changed, err)
	}
	if changed, _ := writeIfChanged(p, []byte("a")); changed {
		t.Fatal("same content rewritten")
	}
	if changed, _ := writeIfChanged(p, []byte("b")); !changed {
		t.Fatal("new content not written")
	}
	if b, _ := os.ReadFile(p); string(b) != "b" {
		t.Fatalf("content %q", b)
	}
}

// masquerades evaluates the rule's expressions on one IPv4 packet the way the kernel does.
func masquerades(t *testing.T, exprs []expr.Any, src, dst string) bool {
	t.Helper()
	hdr := make([]byte, 20)
	copy(hdr[12:], net.ParseIP(src).To4())
	copy(hdr[16:], net.ParseIP(dst).To4())
	var reg []byte
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Payload:
			reg = append([]byte(nil), hdr[e.Offset:e.Offset+e.Len]...)
		case *expr.Bitwise:
			for i := range reg {
				reg[i] = reg[i]&e.Mask[i] ^ e.Xor[i]
			}
		case *expr.Cmp:
			if bytes.Equal(reg, e.Data) != (e.Op == expr.CmpOpEq) {
				return false
			}
		case *expr.Masq:
			return true
		default:
			t.Fatalf("unexpected expression %T", e)
		}
	}
	return false
}

func TestMasqueradeOnlyPodTrafficLeavingTheCluster(t *testing.T) {
	_, cluster, _ := net.ParseCIDR("10.244.0.0/16")
	exprs, err := masqExprs(cluster)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		src, dst string
		want     bool
	}{
		{"10.244.1.5", "172.18.0.3", true},  // to another cluster's node
		{"10.244.1.5", "192.168.7.1", true}, // to the Docker host and beyond
		{"10.244.1.5", "10.244.2.9", false}, // to a pod on another node: policies see its address
		{"10.244.1.5", "10.244.1.6", false}, // to a pod on this node
		{"172.18.0.2", "172.18.0.3", false}, // the node's own traffic
	} {
		if got := masquerades(t, exprs, c.src, c.dst); got != c.want {
			t.Errorf("%s -> %s masqueraded = %v, want %v", c.src, c.dst, got, c.want)
		}
	}
	if _, err := masqExprs(&net.IPNet{IP: net.ParseIP("fd00::"), Mask: net.CIDRMask(64, 128)}); err == nil {
		t.Error("an IPv6 cluster CIDR was accepted")
	}
}
