package sigcache

import (
	"crypto/ed25519"
	"testing"
)

func TestVerifyRemembersOnlySuccesses(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := []byte("transfer")
	sig := ed25519.Sign(priv, msg)
	c := New(10)
	if !c.Verify(pub, msg, sig) || !c.Verify(pub, msg, sig) {
		t.Fatal("a valid signature did not verify")
	}
	if c.Hits.Load() != 1 || c.Misses.Load() != 1 {
		t.Fatalf("hits %d misses %d, want 1 1", c.Hits.Load(), c.Misses.Load())
	}
	bad := append([]byte(nil), sig...)
	bad[0] ^= 1
	for range 2 {
		if c.Verify(pub, msg, bad) {
			t.Fatal("a forged signature verified")
		}
	}
	if c.Verify(pub, []byte("other"), sig) {
		t.Fatal("the signature verified for another message")
	}
	if c.Len() != 1 {
		t.Fatalf("%d entries, want only the valid signature", c.Len())
	}
}

func TestBounded(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	c := New(8)
	for i := range 100 {
		msg := []byte{byte(i)}
		c.Verify(pub, msg, ed25519.Sign(priv, msg))
	}
	if n := c.Len(); n > 16 {
		t.Fatalf("%d entries for a size of 8 per generation", n)
	}
}

func TestNilCacheVerifies(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	var c *Cache
	if !c.Verify(pub, []byte("m"), ed25519.Sign(priv, []byte("m"))) || c.Verify(pub, []byte("m"), make([]byte, 64)) {
		t.Fatal("a nil cache must verify plainly")
	}
}
