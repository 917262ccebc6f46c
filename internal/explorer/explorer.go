// Package explorer owns the node's block explorer: server-rendered HTML pages (Go templates, no
// JavaScript) for the latest blocks, a block, a transaction, an account and the node's peers.
package explorer

import (
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chain"
	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/wire"
)

//go:embed templates/*.html
var files embed.FS

// latestBlocks is how many blocks the front page lists.
const latestBlocks = 20

// Handler serves the explorer under prefix (e.g. "/explorer/") from the API's backend.
func Handler(prefix string, b api.Backend, log *slog.Logger) http.Handler {
	t := template.Must(template.New("").Funcs(template.FuncMap{
		"time":  func(ts uint64) string { return time.Unix(int64(ts), 0).UTC().Format("2006-01-02 15:04:05") },
		"short": func(s string) string { return shorten(s) },
		"hps":   func(h float64) string { return fmt.Sprintf("%.2f MH/s", h/1e6) },
		"p":     func(s string) string { return prefix + s },
		"mulf":  func(s float64) float64 { return s * 1000 },
	}).ParseFS(files, "templates/*.html"))
	e := &explorer{b: b, t: t, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"{$}", e.index)
	mux.HandleFunc("GET "+prefix+"block/{id}", e.block)
	mux.HandleFunc("GET "+prefix+"tx/{id}", e.tx)
	mux.HandleFunc("GET "+prefix+"account/{addr}", e.account)
	mux.HandleFunc("GET "+prefix+"search", func(w http.ResponseWriter, r *http.Request) { e.search(w, r, prefix) })
	return mux
}

type explorer struct {
	b   api.Backend
	t   *template.Template
	log *slog.Logger
}

func shorten(s string) string {
	if len(s) <= 16 {
		return s
	}
	return s[:8] + "…" + s[len(s)-8:]
}

func (e *explorer) render(w http.ResponseWriter, code int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(code)
	if err := e.t.ExecuteTemplate(w, name, data); err != nil && e.log != nil {
		e.log.Warn("explorer template", "page", name, "err", err)
	}
}

func (e *explorer) notFound(w http.ResponseWriter, what string, err error) {
	code := http.StatusNotFound
	if !errors.Is(err, chain.ErrNotFound) {
		code = http.StatusBadRequest
	}
	e.render(w, code, "error.html", map[string]any{"Status": e.b.Status(), "What": what, "Err": err.Error()})
}

// blockRow is a line of the latest blocks: what it shows and nothing more, so that the front
// page does not render the transactions of twenty blocks.
type blockRow struct {
	Height    uint64
	Hash      string
	Timestamp uint64
	Txs       int
	Size      int
	Miner     string
}

func (e *explorer) index(w http.ResponseWriter, _ *http.Request) {
	st := e.b.Status()
	var blocks []blockRow
	for h := int64(st.Height); h >= 0 && len(blocks) < latestBlocks; h-- {
		b, err := e.b.BlockByHeight(uint64(h))
		if err != nil {
			break
		}
		miner := b.MinerKey()
		blocks = append(blocks, blockRow{Height: uint64(h), Hash: b.Hash().String(), Timestamp: b.Header.Timestamp,
			Txs: len(b.Txs), Size: b.Size(), Miner: hex.EncodeToString(miner[:])})
	}
	e.render(w, 200, "index.html", map[string]any{"Status": st, "Blocks": blocks, "Peers": e.b.Peers()})
}

func (e *explorer) block(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	b, height, err := api.LookupBlock(e.b, id)
	if err != nil {
		e.notFound(w, "block "+id, err)
		return
	}
	e.render(w, 200, "block.html", map[string]any{"Status": e.b.Status(), "Block": api.BlockFromWire(b, height)})
}

func (e *explorer) tx(w http.ResponseWriter, r *http.Request) {
	id, err := wire.ParseHash(r.PathValue("id"))
	if err != nil {
		e.notFound(w, "transaction", err)
		return
	}
	tx, loc, err := e.b.Tx(id)
	if err != nil {
		e.notFound(w, "transaction "+id.String(), err)
		return
	}
	e.render(w, 200, "tx.html", map[string]any{"Status": e.b.Status(), "Tx": api.TxFromWire(tx), "Location": loc})
}

func (e *explorer) account(w http.ResponseWriter, r *http.Request) {
	addr, err := keys.ParseAddress(r.PathValue("addr"))
	if err != nil {
		e.notFound(w, "account", err)
		return
	}
	acct, err := e.b.Account(addr)
	if err != nil {
		e.notFound(w, "account "+addr.String(), err)
		return
	}
	e.render(w, 200, "account.html", map[string]any{"Status": e.b.Status(), "Address": addr.String(), "Account": acct})
}

// search sends a height, block hash, transaction id or address to its page.
func (e *explorer) search(w http.ResponseWriter, r *http.Request, prefix string) {
	q := r.URL.Query().Get("q")
	switch {
	case len(q) == 2*keys.AddressSize:
		http.Redirect(w, r, prefix+"account/"+q, http.StatusSeeOther)
	case len(q) == 2*wire.HashSize:
		if h, err := wire.ParseHash(q); err == nil {
			if _, _, err := e.b.Tx(h); err == nil {
				http.Redirect(w, r, prefix+"tx/"+q, http.StatusSeeOther)
				return
			}
		}
		http.Redirect(w, r, prefix+"block/"+q, http.StatusSeeOther)
	default:
		http.Redirect(w, r, prefix+"block/"+q, http.StatusSeeOther)
	}
}
