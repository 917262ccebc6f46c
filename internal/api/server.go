// Package api owns the node's HTTP API: status, blocks, accounts, transactions, health and
// readiness probes and the Prometheus endpoint, and the JSON forms clients (chainctl, the operator)
// decode.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/governance"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

// Backend is what the API serves; the node implements it.
type Backend interface {
	Status() Status
	// Ready reports readiness and, if not ready, why.
	Ready() (bool, string)
	BlockByHeight(height uint64) (*wire.Block, error)
	BlockByHash(h wire.Hash) (*wire.Block, uint64, error)
	Account(addr keys.Address) (chain.Account, error)
	// PendingNonce is the first nonce from nonce (the account's) that no pending transaction of
	// addr holds.
	PendingNonce(addr keys.Address, nonce uint64) uint64
	Tx(id wire.Hash) (*wire.Tx, *chain.TxLocation, error) // location nil: pending
	SubmitTx(tx *wire.Tx) error
	Peers() []Peer
	// Membership is the governance state after the tip and the tip's height (nil state on a
	// public network).
	Membership() (*governance.State, uint64)
}

// Limits.
const (
	maxBodyBytes = 64 << 10
	// A batch submission: transactions encoded back to back (application/octet-stream). One
	// request admits many, so a client at thousands of transfers per second is not bound by a
	// request's round trip; each transaction still goes through admission on its own.
	maxBatchBodyBytes = 1 << 20
	maxBatchTxs       = 4096
	maxBlocksLimit    = 100
)

// Server is the HTTP API.
type Server struct {
	backend  Backend
	log      *slog.Logger
	gatherer prometheus.Gatherer
	requests *prometheus.CounterVec
	mux      *http.ServeMux
	slots    chan struct{} // heavy requests in flight (Limit)
}

// NewServer builds the handler tree. requests may be nil.
func NewServer(b Backend, log *slog.Logger, gatherer prometheus.Gatherer, requests *prometheus.CounterVec) *Server {
	s := &Server{backend: b, log: log, gatherer: gatherer, requests: requests, mux: http.NewServeMux(),
		slots: make(chan struct{}, MaxInFlight)}
	s.route("GET /v1/status", s.status)
	s.route("GET /v1/blocks/{id}", s.limited(s.block))
	s.route("GET /v1/blocks", s.limited(s.blocks))
	s.route("GET /v1/accounts/{address}", s.limited(s.account))
	s.route("POST /v1/transactions", s.limited(s.submit))
	s.route("POST /v1/transactions/batch", s.limited(s.submitBatch))
	s.route("GET /v1/transactions/{id}", s.limited(s.tx))
	s.route("GET /v1/peers", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.backend.Peers()) })
	s.route("GET /v1/membership", s.membership)
	s.route("GET /v1/membership/proposals", s.proposals)
	s.route("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	s.route("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return s
}

// Mount serves h under pattern (the node mounts its explorer pages this way).
func (s *Server) Mount(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// statusRecorder remembers the response code for the request counter.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) { r.code = code; r.ResponseWriter.WriteHeader(code) }

func (s *Server) route(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		h(rec, r)
		if s.requests != nil {
			s.requests.WithLabelValues(pattern, strconv.Itoa(rec.code)).Inc()
		}
	})
}

// limited is Limit for a handler function.
func (s *Server) limited(h http.HandlerFunc) http.HandlerFunc { return s.Limit(h).ServeHTTP }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// ListenAndServe serves on addr until ctx ends, then shuts down gracefully. ready, if non-nil,
// receives the bound address once listening.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready chan<- net.Addr) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api listen %s: %w", addr, err)
	}
	if ready != nil {
		ready <- ln.Addr()
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, Error{Error: err.Error(), Rule: string(chain.RuleOf(err))})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, s.backend.Status())
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if ok, why := s.backend.Ready(); !ok {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": why})
		return
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
}

// errNoGovernance answers membership requests on a public network.
var errNoGovernance = errors.New("a public network has no membership: anyone may join and mine")

// membership serves /v1/membership: the organizations and policy in force after the tip.
func (s *Server) membership(w http.ResponseWriter, r *http.Request) {
	st, height := s.backend.Membership()
	if st == nil {
		writeError(w, 404, errNoGovernance)
		return
	}
	writeJSON(w, 200, MembershipFromState(st, height))
}

// proposals serves /v1/membership/proposals: open proposals, then approved ones waiting for
// their activation height.
func (s *Server) proposals(w http.ResponseWriter, r *http.Request) {
	st, height := s.backend.Membership()
	if st == nil {
		writeError(w, 404, errNoGovernance)
		return
	}
	writeJSON(w, 200, ProposalsFromState(st, height))
}

// ErrBadBlockID is returned by LookupBlock for an id that is neither a height nor a hash.
var ErrBadBlockID = errors.New("not a block height or hash")

// LookupBlock finds a block by id: 64 hex characters are a hash, digits a height. The API and
// the explorer share it.
func LookupBlock(b Backend, id string) (*wire.Block, uint64, error) {
	if len(id) == 2*wire.HashSize {
		h, err := wire.ParseHash(id)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrBadBlockID, err)
		}
		return b.BlockByHash(h)
	}
	height, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %q", ErrBadBlockID, id)
	}
	blk, err := b.BlockByHeight(height)
	return blk, height, err
}

// block serves /v1/blocks/{height-or-hash}.
func (s *Server) block(w http.ResponseWriter, r *http.Request) {
	b, height, err := LookupBlock(s.backend, r.PathValue("id"))
	if errors.Is(err, ErrBadBlockID) {
		writeError(w, 400, err)
		return
	}
	if err != nil {
		s.lookupError(w, err)
		return
	}
	writeJSON(w, 200, BlockFromWire(b, height))
}

func (s *Server) lookupError(w http.ResponseWriter, err error) {
	if errors.Is(err, chain.ErrNotFound) {
		writeError(w, 404, err)
		return
	}
	s.log.Error("api lookup", "err", err)
	writeError(w, 500, errors.New("internal error"))
}

// blocks serves /v1/blocks?from=H&limit=N (best chain, ascending), stopping early once the
// blocks rendered reach maxBlocksBytes.
func (s *Server) blocks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err := parseUintParam(q.Get("from"), 0)
	if err != nil {
		writeError(w, 400, fmt.Errorf("from: %w", err))
		return
	}
	limit, err := parseUintParam(q.Get("limit"), 20)
	if err != nil || limit == 0 || limit > maxBlocksLimit {
		writeError(w, 400, fmt.Errorf("limit: must be 1-%d", maxBlocksLimit))
		return
	}
	out := []Block{}
	size := 0
	for h := from; h < from+limit && size < maxBlocksBytes; h++ {
		b, err := s.backend.BlockByHeight(h)
		if errors.Is(err, chain.ErrNotFound) {
			break
		}
		if err != nil {
			s.lookupError(w, err)
			return
		}
		out = append(out, BlockFromWire(b, h))
		size += b.Size()
	}
	writeJSON(w, 200, out)
}

func parseUintParam(s string, def uint64) (uint64, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	addr, err := keys.ParseAddress(r.PathValue("address"))
	if err != nil {
		writeError(w, 400, err)
		return
	}
	a, err := s.backend.Account(addr)
	if err != nil {
		s.lookupError(w, err)
		return
	}
	writeJSON(w, 200, Account{Address: addr.String(), Account: a, PendingNonce: s.backend.PendingNonce(addr, a.Nonce)})
}

func (s *Server) tx(w http.ResponseWriter, r *http.Request) {
	id, err := wire.ParseHash(r.PathValue("id"))
	if err != nil {
		writeError(w, 400, err)
		return
	}
	tx, loc, err := s.backend.Tx(id)
	if err != nil {
		s.lookupError(w, err)
		return
	}
	st := TxStatus{Tx: TxFromWire(tx), Status: "pending"}
	if loc != nil {
		st.Status, st.Location = "mined", loc
	}
	writeJSON(w, 200, st)
}

// submit accepts a transfer as JSON (Tx) or as its raw wire encoding
// (Content-Type: application/octet-stream).
func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("body: %w", err))
		return
	}
	tx, err := decodeSubmission(r.Header.Get("Content-Type"), body)
	if err != nil {
		writeError(w, 400, err)
		return
	}
	if err := s.backend.SubmitTx(tx); err != nil {
		if chain.RuleOf(err) != "" {
			writeError(w, 400, err)
			return
		}
		s.log.Error("submit transaction", "err", err)
		writeError(w, 500, errors.New("internal error"))
		return
	}
	writeJSON(w, 201, SubmitResult{ID: tx.ID().String()})
}

func (s *Server) submitBatch(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/octet-stream" {
		writeError(w, http.StatusUnsupportedMediaType, errors.New("a batch is application/octet-stream: transactions encoded back to back"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBatchBodyBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("body: %w", err))
		return
	}
	txs, err := wire.DecodeTxs(body, maxBatchTxs)
	if err != nil {
		writeError(w, 400, err)
		return
	}
	out := BatchResult{Results: make([]BatchItem, len(txs))}
	for i, tx := range txs {
		out.Results[i].ID = tx.ID().String()
		if err := s.backend.SubmitTx(tx); err != nil {
			if chain.RuleOf(err) == "" {
				s.log.Error("submit transaction", "err", err)
				err = errors.New("internal error")
			}
			out.Results[i].Error, out.Results[i].Rule = err.Error(), string(chain.RuleOf(err))
			continue
		}
		out.Accepted++
	}
	writeJSON(w, 200, out)
}

func decodeSubmission(contentType string, body []byte) (*wire.Tx, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/octet-stream" {
		return wire.DecodeTx(body)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	var t Tx
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("transaction JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("transaction JSON: trailing data")
	}
	return t.ToWire()
}
