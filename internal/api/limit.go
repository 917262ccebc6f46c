package api

import (
	"errors"
	"net/http"
)

// MaxInFlight is how many requests that read blocks, transactions, accounts or explorer pages a
// node serves at once. More are answered 429 Too Many Requests at once, so a burst of heavy
// requests costs bounded memory and CPU; probes, metrics and status are never limited.
const MaxInFlight = 8

// maxBlocksBytes bounds the encoded size of the blocks one /v1/blocks response renders (it always
// holds at least one): a client asks again from the next height for more.
const maxBlocksBytes = 4 << 20

// errBusy is the body of a 429.
var errBusy = errors.New("too many requests in flight, retry shortly")

// Limit serves h within the node's limit of heavy requests in flight (MaxInFlight).
func (s *Server) Limit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
			h.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, errBusy)
		}
	})
}
