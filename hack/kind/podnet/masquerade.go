package main

import (
	"fmt"
	"net"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// masqueradeTable is the nftables table podnet owns on each node.
const masqueradeTable = "podnet"

// masqueradeRules is the source NAT kindnetd's ip-masq does: a packet from a pod to an address
// outside the cluster's pod range leaves with the node's address, so that replies come back to
// this node. Without it a pod cannot reach anything beyond its cluster (another cluster's
// NodePorts, for the multi-cluster suite): the reply is addressed to a pod range the Docker network
// does not route, and another cluster built with the same range may even hold that address.
// Traffic between pods keeps its source, which NetworkPolicies need.
func masqueradeRules(clusterCIDR *net.IPNet) ([]expr.Any, error) {
	ip4, mask := clusterCIDR.IP.To4(), net.IP(clusterCIDR.Mask).To4()
	if ip4 == nil || mask == nil {
		return nil, fmt.Errorf("cluster CIDR %s: only IPv4 is masqueraded", clusterCIDR)
	}
	match := func(offset uint32, op expr.CmpOp) []expr.Any {
		return []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: op, Register: 1, Data: ip4.Mask(clusterCIDR.Mask)},
		}
	}
	rules := append(match(12, expr.CmpOpEq), match(16, expr.CmpOpNeq)...) // saddr in, daddr not in
	return append(rules, &expr.Masq{}), nil
}

// ensureMasquerade (re)writes podnet's table in one transaction: the table flushed and its one
// rule written again, so a restarted podnet never duplicates it.
func ensureMasquerade(clusterCIDR *net.IPNet) error {
	rules, err := masqueradeRules(clusterCIDR)
	if err != nil {
		return err
	}
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	table := conn.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: masqueradeTable})
	conn.FlushTable(table)
	chain := conn.AddChain(&nftables.Chain{
		Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: rules})
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: masquerade from %s: %w", clusterCIDR, err)
	}
	return nil
}
