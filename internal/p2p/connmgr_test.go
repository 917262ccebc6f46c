package p2p

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chainnet/chainnet/internal/p2p/addrmgr"
)

// TestPlanDialsOneAddressPerIdentity: gossip that gives one validator 50 addresses makes a mesh
// validator dial one of them, not 50; identities already connected or being dialled are skipped;
// non-mesh candidates stay within the outbound need.
func TestPlanDialsOneAddressPerIdentity(t *testing.T) {
	validator, other, connected := strings.Repeat("aa", 32), strings.Repeat("bb", 32), strings.Repeat("cc", 32)
	var cands []addrmgr.Record
	for i := range 50 {
		cands = append(cands, addrmgr.Record{Addr: fmt.Sprintf("10.0.%d.1:9333", i), NodeID: validator})
	}
	cands = append(cands, addrmgr.Record{Addr: "10.1.0.1:9333", NodeID: connected},
		addrmgr.Record{Addr: "10.2.0.1:9333", NodeID: other}, addrmgr.Record{Addr: "10.3.0.1:9333"},
		addrmgr.Record{Addr: "10.4.0.1:9333"})
	mesh := func(r addrmgr.Record) bool { return r.NodeID == validator || r.NodeID == connected }
	got := planDials(cands, 2, mesh, map[string]bool{connected: true})
	var addrs []string
	for _, r := range got {
		addrs = append(addrs, r.Addr)
	}
	if want := "10.0.0.1:9333 10.2.0.1:9333 10.3.0.1:9333"; strings.Join(addrs, " ") != want {
		t.Fatalf("dials %v, want %s", addrs, want)
	}
}
