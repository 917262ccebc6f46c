package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chainnet/chainnet/internal/api"
	"github.com/chainnet/chainnet/internal/chaintest"
	"github.com/chainnet/chainnet/internal/nodetest"
)

// FuzzSubmit posts arbitrary bodies: the handler must answer 201, 400 or 413 — never 500, never
// panic.
func FuzzSubmit(f *testing.F) {
	good, _ := json.Marshal(api.TxFromWire(transfer(&testing.T{}, chaintest.ChainID, 0)))
	f.Add(good, false)
	f.Add(transfer(&testing.T{}, chaintest.ChainID, 0).Encode(), true)
	f.Add([]byte(`{"type":"transfer"}`), false)
	n := nodetest.New(f)
	h := api.NewServer(n, nil, n.Metrics().Registry, nil)
	f.Fuzz(func(t *testing.T, body []byte, raw bool) {
		req := httptest.NewRequest("POST", "/v1/transactions", bytes.NewReader(body))
		if raw {
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusCreated, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// FuzzPaths requests arbitrary path parameters.
func FuzzPaths(f *testing.F) {
	for _, s := range []string{"0", "1", "abc", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "18446744073709551616"} {
		f.Add(s)
	}
	n := nodetest.New(f)
	h := api.NewServer(n, nil, n.Metrics().Registry, nil)
	f.Fuzz(func(t *testing.T, id string) {
		for _, prefix := range []string{"/v1/blocks/", "/v1/accounts/", "/v1/transactions/", "/v1/blocks?from="} {
			req, err := http.NewRequest("GET", "http://x"+prefix+id, nil)
			if err != nil {
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s%q: %d %s", prefix, id, rec.Code, rec.Body)
			}
		}
	})
}
