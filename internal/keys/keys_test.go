package keys

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestMarshalParseRoundTrip(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.NodeID() != k.NodeID() || got.Address() != k.Address() {
		t.Fatalf("round trip changed the key: %s/%s vs %s/%s", got.NodeID(), got.Address(), k.NodeID(), k.Address())
	}
	if len(k.NodeID()) != 64 || len(k.Address()) != 40 {
		t.Fatalf("nodeId %d chars, address %d chars", len(k.NodeID()), len(k.Address()))
	}
}

func TestParseRejectsBadFiles(t *testing.T) {
	k, _ := Generate()
	other, _ := Generate()
	good, _ := Marshal(k)
	cases := map[string]string{
		"not json":       "{",
		"wrong type":     strings.Replace(string(good), "ed25519", "secp256k1", 1),
		"short seed":     `{"type":"ed25519","privateKey":"abcd"}`,
		"bad hex":        `{"type":"ed25519","privateKey":"zz"}`,
		"mismatched pub": strings.Replace(string(good), k.NodeID(), other.NodeID(), 1),
		"unknown field":  `{"type":"ed25519","privateKey":"` + strings.Repeat("00", 32) + `","extra":1}`,
	}
	for name, in := range cases {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLoadOrCreateIsStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "node-key.json")
	k1, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v", created, err)
	}
	k2, created, err := LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("second call: created=%v err=%v", created, err)
	}
	if k1.NodeID() != k2.NodeID() {
		t.Fatal("key changed between loads")
	}
}

func TestParseAddress(t *testing.T) {
	k, _ := Generate()
	a, err := ParseAddress("0x" + strings.ToUpper(k.Address()))
	if err != nil || a.String() != k.Address() {
		t.Fatalf("ParseAddress: %v %s", err, a)
	}
	for _, bad := range []string{"", "00", strings.Repeat("g", 40), strings.Repeat("0", 42)} {
		if _, err := ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) accepted", bad)
		}
	}
}
