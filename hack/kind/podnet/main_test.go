package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"

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

// The masquerade rule matches a source inside the pod range and a destination outside it, with
// the range's own network address and mask (not the host bits of the flag's value).
func TestMasqueradeRules(t *testing.T) {
	_, cidr, _ := net.ParseCIDR("10.244.3.7/16")
	rules, err := masqueradeRules(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 7 {
		t.Fatalf("%d expressions, want 7", len(rules))
	}
	src, dst := rules[2].(*expr.Cmp), rules[5].(*expr.Cmp)
	if src.Op != expr.CmpOpEq || dst.Op != expr.CmpOpNeq {
		t.Fatalf("ops %v %v, want eq (source in range) then neq (destination outside)", src.Op, dst.Op)
	}
	if !bytes.Equal(src.Data, []byte{10, 244, 0, 0}) || !bytes.Equal(dst.Data, []byte{10, 244, 0, 0}) {
		t.Fatalf("compared with %v and %v, want 10.244.0.0", src.Data, dst.Data)
	}
	if off := rules[3].(*expr.Payload).Offset; off != 16 {
		t.Fatalf("destination read at offset %d, want 16", off)
	}
	if _, ok := rules[6].(*expr.Masq); !ok {
		t.Fatalf("last expression %T, want masquerade", rules[6])
	}
	_, v6, _ := net.ParseCIDR("fd00::/64")
	if _, err := masqueradeRules(v6); err == nil {
		t.Fatal("an IPv6 range was accepted")
	}
}

// Applied twice in a fresh network namespace (as a restarted podnet does), the table holds one
// masquerade rule, not two. Needs root (CAP_NET_ADMIN) to create the namespace.
func TestEnsureMasqueradeIsIdempotent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New() // switches this thread into it
	if err != nil {
		t.Skipf("no new network namespace here: %v", err)
	}
	defer ns.Close()
	defer netns.Set(orig)
	_, cidr, _ := net.ParseCIDR("10.244.0.0/16")
	for range 2 {
		if err := ensureMasquerade(cidr); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatal(err)
	}
	table := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: masqueradeTable}
	rules, err := conn.GetRules(table, &nftables.Chain{Name: "postrouting", Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 {
		t.Fatalf("%d rules after two applications, want 1", len(rules))
	}
}
