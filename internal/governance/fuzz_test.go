package governance

import (
	"bytes"
	"testing"
)

// FuzzDecodeAction: decoding a payload never panics, and whatever decodes re-encodes to the same
// bytes (one encoding per action, so one transaction id) and can be applied to a state without
// panicking.
func FuzzDecodeAction(f *testing.F) {
	nk := key("n")
	for _, a := range []*Action{ProposeAddOrg(org("org9")), ProposeRemoveOrg("org2"), ProposeSetPolicy(DefaultPolicy()),
		Approve(txid(1)), UpdateOrg(OrgUpdate{AddMiners: []Key{key("m")}, RemoveValidators: []Key{key("org1/v0")}, NewAdminKey: &nk})} {
		f.Add(a.Encode())
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		a, err := DecodeAction(payload)
		if err != nil {
			return
		}
		if !bytes.Equal(a.Encode(), payload) {
			t.Fatal("non-canonical: decoded action re-encodes differently")
		}
		s, err := Genesis(DefaultPolicy(), []Organization{org("org1"), org("org2")})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Apply(txid(1), admin("org1"), a, 1)
		if _, err := DecodeState(s.Encode()); err != nil {
			t.Fatalf("state after applying a decoded action does not decode: %v", err)
		}
	})
}

// FuzzDecodeState: a stored state that decodes re-encodes to the same bytes.
func FuzzDecodeState(f *testing.F) {
	s, _ := Genesis(DefaultPolicy(), []Organization{org("org1"), org("org2")})
	f.Add(s.Encode())
	_ = s.Apply(txid(1), admin("org1"), ProposeAddOrg(org("org3")), 1)
	f.Add(s.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := DecodeState(b)
		if err != nil {
			return
		}
		if !bytes.Equal(st.Encode(), b) {
			t.Fatal("non-canonical state encoding")
		}
	})
}
