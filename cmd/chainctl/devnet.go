package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/devnet"
)

// devnetRow is one node of `chainctl --devnet DIR status`.
type devnetRow struct {
	devnet.Node
	Status *api.Status `json:"status,omitempty"`
	Error  string      `json:"error,omitempty"`
}

// devnetStatus queries every node of the devnet in dir.
func devnetStatus(ctx context.Context, g *globals, w io.Writer) error {
	m, err := devnet.Load(g.devnet)
	if err != nil {
		return fmt.Errorf("devnet %s: %w", g.devnet, err)
	}
	rows := make([]devnetRow, len(m.Nodes))
	var wg sync.WaitGroup
	for i, n := range m.Nodes {
		rows[i].Node = n
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			var st api.Status
			if err := newClient(n.API).do(ctx, "GET", "/v1/status", nil, &st); err != nil {
				rows[i].Error = err.Error()
				return
			}
			rows[i].Status = &st
		}()
	}
	wg.Wait()
	return g.print(w, rows, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tORG\tHEIGHT\tBEST HASH\tPEERS\tSYNCING\tHASH RATE\tAPI")
		for _, r := range rows {
			if r.Status == nil {
				fmt.Fprintf(tw, "%s\t%s\t%s\t-\tdown\t-\t-\t-\t%s\n", r.Name, r.Role, r.Org, r.API)
				continue
			}
			st := r.Status
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.16s\t%d\t%v\t%.2f MH/s\t%s\n", r.Name, r.Role, r.Org, st.Height, st.BestHash,
				st.Peers, st.Syncing, st.Hashrate/1e6, r.API)
		}
		tw.Flush()
	})
}
