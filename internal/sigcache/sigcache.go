// Package sigcache remembers ed25519 signatures that verified, so that a node verifies each
// signature once: a transaction checked at mempool admission is not checked again when a block
// carrying it is connected, and a block body checked when it arrives is not checked again when it
// is connected (Bitcoin Core's signature cache, for the same reason: verification dominates the
// cost of a transaction).
//
// Only successes are remembered, under a salted SHA-256 of (public key, message, signature): an
// entry proves that exactly this triple verified, and the per-process salt keeps a peer from
// crafting triples that collide in the map. The cache is bounded: when it is full the older of
// two generations is dropped, so memory stays at about 2×Size entries of 32 bytes plus map
// overhead (~13 MB at the default size).
package sigcache

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"sync/atomic"
)

// DefaultSize is the entries per generation: a full mempool plus a few batches of blocks.
const DefaultSize = 100_000

// Cache is a set of verified signatures, safe for concurrent use.
type Cache struct {
	size int
	salt [32]byte
	mu   sync.Mutex
	cur  map[[32]byte]struct{}
	old  map[[32]byte]struct{}
	// Hits and Misses count lookups (tests and metrics).
	Hits, Misses atomic.Uint64
}

// New returns a cache of size entries per generation (0: DefaultSize).
func New(size int) *Cache {
	if size <= 0 {
		size = DefaultSize
	}
	c := &Cache{size: size, cur: map[[32]byte]struct{}{}, old: map[[32]byte]struct{}{}}
	if _, err := rand.Read(c.salt[:]); err != nil {
		panic("sigcache: no randomness for the salt: " + err.Error())
	}
	return c
}

func (c *Cache) key(pub, msg, sig []byte) [32]byte {
	h := sha256.New()
	h.Write(c.salt[:])
	h.Write(pub)
	h.Write(msg)
	h.Write(sig)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// Verify reports whether sig is pub's signature of msg, from the cache when this triple verified
// before. A nil cache always verifies.
func (c *Cache) Verify(pub, msg, sig []byte) bool {
	if c == nil {
		return ed25519.Verify(pub, msg, sig)
	}
	return c.verify(pub, msg, sig)
}

func (c *Cache) verify(pub, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	k := c.key(pub, msg, sig)
	if c.lookup(k) {
		c.Hits.Add(1)
		return true
	}
	c.Misses.Add(1)
	if !ed25519.Verify(pub, msg, sig) {
		return false
	}
	c.add(k)
	return true
}

func (c *Cache) lookup(k [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[k]; ok {
		return true
	}
	_, ok := c.old[k]
	return ok
}

func (c *Cache) add(k [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= c.size {
		c.old, c.cur = c.cur, make(map[[32]byte]struct{}, c.size/4)
	}
	c.cur[k] = struct{}{}
}

// Len is the number of signatures remembered.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
