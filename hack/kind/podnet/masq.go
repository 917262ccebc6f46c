package main

import (
	"fmt"
	"net"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// The nftables table podnet owns: one NAT chain with one rule.
const masqTable = "podnet"

// masqExprs is the rule `ip saddr <cluster> ip daddr != <cluster> masquerade`: pod traffic
// leaving the cluster's pod range goes out with the node's address, since nothing outside
// (another cluster's nodes, the Docker host) routes the pod range back. Traffic between pods
// keeps its source address, which NetworkPolicies match on.
func masqExprs(cluster *net.IPNet) ([]expr.Any, error) {
	ip4, mask := cluster.IP.To4(), net.IP(cluster.Mask).To4()
	if ip4 == nil || mask == nil {
		return nil, fmt.Errorf("cluster CIDR %s: only IPv4 is supported", cluster)
	}
	match := func(offset uint32, op expr.CmpOp) []expr.Any {
		return []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
			&expr.Cmp{Op: op, Register: 1, Data: ip4.Mask(cluster.Mask)},
		}
	}
	// IPv4 header: source address at byte 12, destination at 16.
	out := append(match(12, expr.CmpOpEq), match(16, expr.CmpOpNeq)...)
	return append(out, &expr.Masq{}), nil
}

// ensureMasquerade replaces the table's content with the masquerade rule in one transaction
// (no moment without it), so a rule removed by hand or a changed CIDR is repaired next round.
func ensureMasquerade(cluster *net.IPNet) error {
	exprs, err := masqExprs(cluster)
	if err != nil {
		return err
	}
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	table := conn.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: masqTable})
	conn.FlushTable(table)
	chain := conn.AddChain(&nftables.Chain{
		Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: exprs})
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("masquerade %s: %w", cluster, err)
	}
	return nil
}
