package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/devnet"
	"github.com/chainnet/chainnet/internal/genesis"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

func init() { extraCommands = append(extraCommands, newBenchCommand) }

// Bounds of a load run: it is a benchmark for a local devnet, not a load tester for someone
// else's network.
const (
	maxLoadRate     = 50_000
	maxLoadDuration = 10 * time.Minute
	maxLoadTxs      = 2_000_000
	// maxPerAccountAhead stays under the mempool's per-account queue (64 nonces ahead).
	maxPerAccountAhead = 48
	fanout             = 60 // funding transfers per funder and round (under the same queue bound)
)

// loadSpec is what `chainctl bench load` was asked for.
type loadSpec struct {
	rate     int
	duration time.Duration
	accounts int
	workers  int
	batch    int
	drain    time.Duration
}

func newBenchCommand(g *globals) *cobra.Command {
	bench := &cobra.Command{Use: "bench", Short: "Benchmarks against a local devnet"}
	var s loadSpec
	load := &cobra.Command{
		Use:   "load --devnet DIR --rate N --duration D",
		Short: "Drive signed transfers into a devnet at a target rate and report throughput and latency",
		Long: "Funds many accounts from the devnet's alice, then submits transfers among them to the devnet's " +
			"validators at --rate per second for --duration, and follows every node's chain. It reports accepted " +
			"and mined transfers per second, the latency from submission to inclusion on every node (p50, p99), " +
			"and checks that every accepted transfer is mined exactly once on the final chain. Loopback devnets only; " +
			"the run is bounded in rate, duration and count. The last line reads " +
			"`load: accepted=N/s mined=N/s p50=Xms p99=Yms lost=N`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.devnet == "" {
				return errors.New("--devnet DIR is required")
			}
			return runLoad(cmd.Context(), g.devnet, s, cmd.OutOrStdout())
		},
	}
	f := load.Flags()
	f.IntVar(&s.rate, "rate", 1000, "transfers submitted per second")
	f.DurationVar(&s.duration, "duration", 60*time.Second, "how long to submit")
	f.IntVar(&s.accounts, "accounts", 0, "sending accounts (0: enough that none queues more than 48 transfers)")
	f.IntVar(&s.workers, "workers", 6, "submissions in flight per validator (the API serves 8 heavy requests at once)")
	f.IntVar(&s.batch, "batch", 64, "transfers per request at most (POST /v1/transactions/batch)")
	f.DurationVar(&s.drain, "drain", 0, "how long to wait after the last submission for transfers to be mined (0: 10 block times, at least 30s)")
	bench.AddCommand(load)
	return bench
}

func (s *loadSpec) validate() error {
	switch {
	case s.rate < 1 || s.rate > maxLoadRate:
		return fmt.Errorf("--rate %d: want 1..%d", s.rate, maxLoadRate)
	case s.duration < time.Second || s.duration > maxLoadDuration:
		return fmt.Errorf("--duration %s: want 1s..%s", s.duration, maxLoadDuration)
	case float64(s.rate)*s.duration.Seconds() > maxLoadTxs:
		return fmt.Errorf("--rate × --duration is more than %d transfers", maxLoadTxs)
	case s.workers < 1 || s.workers > api.MaxInFlight:
		return fmt.Errorf("--workers %d: want 1..%d", s.workers, api.MaxInFlight)
	case s.batch < 1 || s.batch > 4096:
		return fmt.Errorf("--batch %d: want 1..4096", s.batch)
	case s.accounts < 0 || s.accounts > fanout*fanout:
		return fmt.Errorf("--accounts %d: want 0..%d", s.accounts, fanout*fanout)
	}
	return nil
}

// loadRun is the state of one run.
type loadRun struct {
	spec    loadSpec
	nodes   []*loadNode
	chainID uint64
	// blockTime is the devnet's target block time in seconds.
	blockTime uint64
	start     uint64 // tip height before the load
	txs       []*loadTx
	byID      map[wire.Hash]*loadTx
	out       io.Writer
	accepted  atomic.Int64
	rejected  atomic.Int64
	lastErr   atomic.Value
}

type loadNode struct {
	devnet.Node
	client *client
	raw    *http.Client
	// reached[h-start-1] is when the node's tip first reached height h (zero: not yet).
	mu      sync.Mutex
	reached []time.Time
}

type loadTx struct {
	tx        *wire.Tx
	raw       []byte
	id        wire.Hash
	submitted time.Time
	accepted  bool
	refused   bool
	height    uint64 // on the final chain (0: not mined)
	count     int    // times it appears on the final chain
}

func runLoad(ctx context.Context, dir string, spec loadSpec, out io.Writer) error {
	if err := spec.validate(); err != nil {
		return err
	}
	r, alice, err := newLoadRun(ctx, dir, spec, out)
	if err != nil {
		return err
	}
	senders, err := r.fund(ctx, alice)
	if err != nil {
		return fmt.Errorf("fund accounts: %w", err)
	}
	r.sign(senders)
	var st api.Status
	if err := r.nodes[0].client.do(ctx, "GET", "/v1/status", nil, &st); err != nil {
		return err
	}
	r.start = st.Height
	trackCtx, stopTracking := context.WithCancel(ctx)
	defer stopTracking()
	var tracking sync.WaitGroup
	for _, n := range r.nodes {
		tracking.Add(1)
		go func() { defer tracking.Done(); r.track(trackCtx, n) }()
	}
	fmt.Fprintf(out, "load: %d transfers from %d accounts at %d/s for %s to %d validators, followed on %d nodes\n",
		len(r.txs), len(senders), spec.rate, spec.duration, len(r.validators()), len(r.nodes))
	cpu := startCPUSampler(trackCtx, dir)
	began := time.Now()
	r.submit(ctx)
	submitted := time.Since(began)
	fmt.Fprintf(out, "load: submitted for %s: %d accepted, %d refused (last: %v), %d not sent in time\n", submitted.Round(time.Millisecond),
		r.accepted.Load(), r.rejected.Load(), r.lastErr.Load(), int64(len(r.txs))-r.accepted.Load()-r.rejected.Load())
	final, err := r.drain(ctx)
	stopTracking()
	tracking.Wait()
	if err != nil {
		return err
	}
	if line := cpu.summary(r.accepted.Load(), len(r.nodes), verifyCost()); line != "" {
		fmt.Fprintln(out, line)
	}
	return r.report(ctx, final, began, submitted)
}

func newLoadRun(ctx context.Context, dir string, spec loadSpec, out io.Writer) (*loadRun, *keys.Key, error) {
	m, err := devnet.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("devnet %s: %w", dir, err)
	}
	alice, err := keys.Load(filepath.Join(dir, "alice.json"))
	if err != nil {
		return nil, nil, err
	}
	gen, err := genesis.Load(filepath.Join(dir, "genesis.json"))
	if err != nil {
		return nil, nil, err
	}
	r := &loadRun{spec: spec, out: out, byID: map[wire.Hash]*loadTx{}, blockTime: gen.Consensus.TargetBlockTimeSeconds}
	for _, n := range m.Nodes {
		if err := loopbackOnly(n.API); err != nil {
			return nil, nil, err
		}
		r.nodes = append(r.nodes, &loadNode{Node: n, client: newClient(n.API),
			raw: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: api.MaxInFlight}}})
	}
	if len(r.validators()) == 0 {
		return nil, nil, errors.New("the devnet has no validator to submit to")
	}
	var st api.Status
	if err := r.nodes[0].client.do(ctx, "GET", "/v1/status", nil, &st); err != nil {
		return nil, nil, err
	}
	r.chainID = st.ChainID
	if r.spec.accounts == 0 {
		// Each account sends rate/accounts per second and at most maxPerAccountAhead may wait:
		// enough accounts that ten seconds of load fit.
		r.spec.accounts = min(fanout*fanout, max(fanout, r.spec.rate*30/maxPerAccountAhead))
	}
	return r, alice, nil
}

// loopbackOnly refuses API addresses off this machine: the load is for local devnets.
func loopbackOnly(apiURL string) error {
	u, err := url.Parse(apiURL)
	if err != nil {
		return fmt.Errorf("node API %q: %w", apiURL, err)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
		return fmt.Errorf("node API %s is not on loopback: bench load drives local devnets only", apiURL)
	}
	return nil
}

func (r *loadRun) validators() []*loadNode {
	var out []*loadNode
	for _, n := range r.nodes {
		if n.Mine {
			out = append(out, n)
		}
	}
	return out
}

// accountKey derives the i-th load account of a run from its seed.
func accountKey(seed [32]byte, i int) *keys.Key {
	h := sha256.Sum256(binary.BigEndian.AppendUint32(seed[:], uint32(i)))
	k, err := keys.FromSeed(h[:])
	if err != nil {
		panic(err) // 32 bytes always make a key
	}
	return k
}

// fund gives every load account enough for its transfers: alice pays up to fanout hubs, each hub
// up to fanout accounts, so that no sender queues more than the mempool takes per account.
func (r *loadRun) fund(ctx context.Context, alice *keys.Key) ([]*keys.Key, error) {
	var seed [32]byte
	binary.BigEndian.PutUint64(seed[:], uint64(time.Now().UnixNano()))
	n := r.spec.accounts
	perAccount := uint64(float64(r.spec.rate)*r.spec.duration.Seconds()/float64(n)+2) * 2 // amount 1 + fee 1 each
	senders := make([]*keys.Key, n)
	for i := range senders {
		senders[i] = accountKey(seed, i)
	}
	hubs := make([]*keys.Key, (n+fanout-1)/fanout)
	for i := range hubs {
		hubs[i] = accountKey(seed, fanout*fanout+i)
	}
	hubAmount := perAccount*fanout + fanout
	var payments []payment
	for _, h := range hubs {
		payments = append(payments, payment{from: alice, to: h.AccountAddress(), amount: hubAmount})
	}
	if err := r.pay(ctx, payments); err != nil {
		return nil, err
	}
	payments = payments[:0]
	for i, s := range senders {
		payments = append(payments, payment{from: hubs[i/fanout], to: s.AccountAddress(), amount: perAccount})
	}
	if err := r.pay(ctx, payments); err != nil {
		return nil, err
	}
	return senders, nil
}

type payment struct {
	from   *keys.Key
	to     keys.Address
	amount uint64
}

// pay submits payments (at most fanout per payer, from the payer's pending nonce) and waits until
// every payee's balance shows on the first node.
func (r *loadRun) pay(ctx context.Context, payments []payment) error {
	nonces := map[keys.Address]uint64{}
	for _, p := range payments {
		from := p.from.AccountAddress()
		next, ok := nonces[from]
		if !ok {
			var acct api.Account
			if err := r.nodes[0].client.do(ctx, "GET", "/v1/accounts/"+from.String(), nil, &acct); err != nil {
				return err
			}
			next = max(acct.Nonce, acct.PendingNonce)
		}
		tx := &wire.Tx{Type: wire.TxTransfer, ChainID: r.chainID, To: p.to, Amount: p.amount, Fee: 1, Nonce: next}
		tx.Sign(p.from)
		nonces[from] = next + 1
		if err := r.nodes[0].client.do(ctx, "POST", "/v1/transactions", api.TxFromWire(tx), nil); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	// Funded, and still funded three blocks later: with blocks a second apart a payment can be
	// reorganised out for a moment, and a sender spending it then would be refused.
	for confirmed := false; !confirmed; {
		if err := r.waitFunded(ctx, payments, deadline); err != nil {
			return err
		}
		var st api.Status
		if err := r.nodes[0].client.do(ctx, "GET", "/v1/status", nil, &st); err != nil {
			return err
		}
		if err := r.waitHeight(ctx, st.Height+3, deadline); err != nil {
			return err
		}
		confirmed = r.waitFunded(ctx, payments, time.Now()) == nil
	}
	return nil
}

// waitFunded waits until every payee's balance on the first node covers its payment.
func (r *loadRun) waitFunded(ctx context.Context, payments []payment, deadline time.Time) error {
	for _, p := range payments {
		for {
			var acct api.Account
			if err := r.nodes[0].client.do(ctx, "GET", "/v1/accounts/"+p.to.String(), nil, &acct); err != nil {
				return err
			}
			if acct.Balance >= p.amount {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("account %s not funded in time", p.to)
			}
			if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitHeight waits until the first node's tip is at height h.
func (r *loadRun) waitHeight(ctx context.Context, h uint64, deadline time.Time) error {
	for {
		var st api.Status
		if err := r.nodes[0].client.do(ctx, "GET", "/v1/status", nil, &st); err != nil {
			return err
		}
		if st.Height >= h {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("height %d not reached in time", h)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// sign prepares every transfer of the run before it starts, so that signing costs the measured
// window nothing: round-robin over the senders, each paying 1 to the next.
func (r *loadRun) sign(senders []*keys.Key) {
	total := int(float64(r.spec.rate) * r.spec.duration.Seconds())
	r.txs = make([]*loadTx, total)
	nonces := make([]uint64, len(senders))
	var wg sync.WaitGroup
	for i := range r.txs {
		a := i % len(senders)
		r.txs[i] = &loadTx{tx: &wire.Tx{Type: wire.TxTransfer, ChainID: r.chainID, To: senders[(a+1)%len(senders)].AccountAddress(),
			Amount: 1, Fee: 1, Nonce: nonces[a]}}
		nonces[a]++
	}
	workers := 4
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(r.txs); i += workers {
				lt := r.txs[i]
				lt.tx.Sign(senders[i%len(senders)])
				lt.raw = lt.tx.Encode()
				lt.id = lt.tx.ID()
			}
		}()
	}
	wg.Wait()
	for _, lt := range r.txs {
		r.byID[lt.id] = lt
	}
}

// submit paces the transfers at the target rate onto the validators' workers for the run's
// duration. When the nodes answer slower than the rate, the queues fill and the pacer waits: the
// accepted rate then falls short of the target, which the report shows.
func (r *loadRun) submit(ctx context.Context) {
	vals := r.validators()
	queues := make([]chan *loadTx, len(vals))
	var wg sync.WaitGroup
	for i, n := range vals {
		queues[i] = make(chan *loadTx, r.spec.workers*4)
		for range r.spec.workers {
			wg.Add(1)
			go func() { defer wg.Done(); r.worker(ctx, n, queues[i]) }()
		}
	}
	start := time.Now()
	interval := time.Second / time.Duration(r.spec.rate)
	for i, lt := range r.txs {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		if time.Since(start) >= r.spec.duration {
			break // the nodes took less than the rate: the rest is never sent (a suffix of each sender's nonces)
		}
		// Each sender's transfers go to one validator, in nonce order.
		select {
		case queues[i%r.spec.accounts%len(vals)] <- lt:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
}

// worker submits transfers from q in batches of what is waiting (up to --batch per request).
func (r *loadRun) worker(ctx context.Context, n *loadNode, q <-chan *loadTx) {
	for lt := range q {
		batch := []*loadTx{lt}
	fill:
		for len(batch) < r.spec.batch {
			select {
			case more, ok := <-q:
				if !ok {
					break fill
				}
				batch = append(batch, more)
			default:
				break fill
			}
		}
		r.submitBatch(ctx, n, batch)
	}
}

func (r *loadRun) submitBatch(ctx context.Context, n *loadNode, batch []*loadTx) {
	var body []byte
	for _, lt := range batch {
		body = append(body, lt.raw...)
	}
	for ctx.Err() == nil {
		now := time.Now()
		for _, lt := range batch {
			lt.submitted = now
		}
		res, code, err := r.post(ctx, n, body)
		if code == http.StatusTooManyRequests {
			time.Sleep(time.Millisecond) // the node's API is saturated: try again
			continue
		}
		if err != nil || len(res.Results) != len(batch) {
			for _, lt := range batch {
				lt.refused = true
			}
			r.rejected.Add(int64(len(batch)))
			r.lastErr.Store(fmt.Sprintf("%d %v", code, err))
			return
		}
		for i, item := range res.Results {
			if item.Error != "" {
				batch[i].refused = true
				r.rejected.Add(1)
				r.lastErr.Store(item.Error)
				continue
			}
			batch[i].accepted = true
			r.accepted.Add(1)
		}
		return
	}
}

func (r *loadRun) post(ctx context.Context, n *loadNode, body []byte) (api.BatchResult, int, error) {
	var res api.BatchResult
	req, err := http.NewRequestWithContext(ctx, "POST", n.API+"/v1/transactions/batch", bytes.NewReader(body))
	if err != nil {
		return res, 0, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := n.raw.Do(req)
	if err != nil {
		return res, 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK {
		return res, resp.StatusCode, fmt.Errorf("%s", bytes.TrimSpace(data))
	}
	return res, resp.StatusCode, json.Unmarshal(data, &res)
}

// track polls a node's tip and records when it first reached each height.
func (r *loadRun) track(ctx context.Context, n *loadNode) {
	for ctx.Err() == nil {
		var st api.Status
		if err := n.client.do(ctx, "GET", "/v1/status", nil, &st); err == nil && st.Height > r.start {
			now := time.Now()
			n.mu.Lock()
			for uint64(len(n.reached)) < st.Height-r.start {
				n.reached = append(n.reached, now)
			}
			n.mu.Unlock()
		}
		_ = sleepCtx(ctx, 25*time.Millisecond)
	}
}

// reachedAll is when every node first had height h.
func (r *loadRun) reachedAll(h uint64) (time.Time, bool) {
	var last time.Time
	for _, n := range r.nodes {
		n.mu.Lock()
		i := h - r.start - 1
		if i >= uint64(len(n.reached)) {
			n.mu.Unlock()
			return time.Time{}, false
		}
		if n.reached[i].After(last) {
			last = n.reached[i]
		}
		n.mu.Unlock()
	}
	return last, true
}

// drain follows the first node's chain until it holds as many of the run's transfers as were
// accepted (or the drain time is up), then waits for all nodes to agree on one tip, and returns
// that tip's height. The count is a stop signal only; report reads the final chain again.
func (r *loadRun) drain(ctx context.Context) (uint64, error) {
	d := r.spec.drain
	if d == 0 {
		d = max(30*time.Second, 10*time.Duration(r.blockTime)*time.Second)
	}
	deadline := time.Now().Add(d)
	seen, next := 0, r.start+1
	for int64(seen) < r.accepted.Load() && time.Now().Before(deadline) {
		var blocks []api.Block
		if err := r.nodes[0].client.do(ctx, "GET", fmt.Sprintf("/v1/blocks?from=%d&limit=1", next), nil, &blocks); err != nil {
			return 0, err
		}
		if len(blocks) == 0 {
			if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
				return 0, err
			}
			continue
		}
		for _, t := range blocks[0].Txs {
			if id, err := wire.ParseHash(t.ID); err == nil && r.byID[id] != nil {
				seen++
			}
		}
		next++
	}
	return r.converge(ctx, deadline.Add(30*time.Second))
}

// converge waits until every node reports the same tip.
func (r *loadRun) converge(ctx context.Context, deadline time.Time) (uint64, error) {
	for {
		var tips []string
		var height uint64
		for _, n := range r.nodes {
			var st api.Status
			if err := n.client.do(ctx, "GET", "/v1/status", nil, &st); err != nil {
				return 0, err
			}
			tips, height = append(tips, st.BestHash), st.Height
		}
		if len(slices.Compact(tips)) == 1 {
			return height, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the nodes did not agree on a tip: %v", tips)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// report reads the final chain, checks that every accepted transfer is on it exactly once, and
// prints the figures: accepted per second of the submission window, mined per second from the
// first submission to the last transfer's inclusion on every node.
func (r *loadRun) report(ctx context.Context, final uint64, began time.Time, submitted time.Duration) error {
	foreign := 0
	for h := r.start + 1; h <= final; h++ {
		var blocks []api.Block
		if err := r.nodes[0].client.do(ctx, "GET", fmt.Sprintf("/v1/blocks?from=%d&limit=1", h), nil, &blocks); err != nil {
			return err
		}
		if len(blocks) != 1 {
			return fmt.Errorf("block %d missing on %s", h, r.nodes[0].Name)
		}
		for _, t := range blocks[0].Txs {
			id, err := wire.ParseHash(t.ID)
			if err != nil {
				return err
			}
			lt, ok := r.byID[id]
			if !ok {
				foreign++
				continue
			}
			lt.count++
			lt.height = h
		}
	}
	var lat []time.Duration
	lastIncluded := began.Add(submitted)
	mined, lost, twice, unaccepted, stranded, pending := 0, 0, 0, 0, 0, 0
	gap := make([]bool, r.spec.accounts) // a sender with a refused transfer: its later nonces can never be mined
	for i, lt := range r.txs {
		sender := i % r.spec.accounts
		gap[sender] = gap[sender] || lt.refused
		switch {
		case lt.count > 1:
			twice++
		case lt.count == 1 && !lt.accepted:
			unaccepted++ // refused by the API, yet mined (a relayed copy): not lost, not counted
		case lt.count == 0 && lt.accepted && gap[sender]:
			stranded++ // behind a refused nonce of its sender: the refusal's doing, reported apart
		case lt.count == 0 && lt.accepted && r.stillPending(ctx, lt.id):
			pending++ // in a mempool still: the drain ended first, nothing is lost
		case lt.count == 0 && lt.accepted:
			lost++
		}
		if lt.count >= 1 && lt.accepted {
			mined++
			if at, ok := r.reachedAll(lt.height); ok {
				lat = append(lat, at.Sub(lt.submitted))
				if at.After(lastIncluded) {
					lastIncluded = at
				}
			}
		}
	}
	if twice > 0 {
		return fmt.Errorf("%d transfers appear more than once on the final chain", twice)
	}
	slices.Sort(lat)
	window := lastIncluded.Sub(began)
	fmt.Fprintf(r.out, "load: final height %d (%d blocks, %d coinbase or other transactions), %d refused yet mined, %d accepted behind a refused nonce of their sender, %d accepted and still pending when the drain ended, last inclusion %s after the first submission\n",
		final, final-r.start, foreign, unaccepted, stranded, pending, window.Round(time.Millisecond))
	fmt.Fprintf(r.out, "load: accepted=%.0f/s mined=%.0f/s p50=%dms p99=%dms lost=%d\n",
		float64(r.accepted.Load())/submitted.Seconds(), float64(mined)/window.Seconds(), percentile(lat, 0.50).Milliseconds(),
		percentile(lat, 0.99).Milliseconds(), lost)
	return nil
}

// stillPending reports whether some node still holds transaction id in its mempool.
func (r *loadRun) stillPending(ctx context.Context, id wire.Hash) bool {
	for _, n := range r.nodes {
		var st api.TxStatus
		if n.client.do(ctx, "GET", "/v1/transactions/"+id.String(), nil, &st) == nil && st.Status == "pending" {
			return true
		}
	}
	return false
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
