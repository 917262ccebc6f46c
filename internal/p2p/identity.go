package p2p

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/chainnet/chainnet/internal/keys"
)

// NodeID is a node's identity: its ed25519 public key.
type NodeID [32]byte

func (id NodeID) String() string { return fmt.Sprintf("%x", id[:]) }

// Short is the first 8 hex digits, for logs.
func (id NodeID) Short() string { return fmt.Sprintf("%x", id[:4]) }

// ErrNotAdmitted wraps every refusal of a peer's identity during the TLS handshake.
var ErrNotAdmitted = errors.New("peer not admitted")

// certificate makes the self-signed certificate a node presents: its subject is the node id and
// its key is the node key, so the certificate proves possession of the identity key.
func certificate(k *keys.Key) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: k.NodeID()},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(100 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public, k.Private)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("node certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k.Private}, nil
}

// peerIdentity checks that the peer presented exactly one self-signed ed25519 certificate and
// returns its key. TLS 1.3 has already proved that the peer holds the certificate's private key.
func peerIdentity(rawCerts [][]byte) (NodeID, error) {
	if len(rawCerts) != 1 {
		return NodeID{}, fmt.Errorf("%w: want one self-signed certificate, got %d", ErrNotAdmitted, len(rawCerts))
	}
	cert, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return NodeID{}, fmt.Errorf("%w: certificate: %v", ErrNotAdmitted, err)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return NodeID{}, fmt.Errorf("%w: certificate key is not ed25519", ErrNotAdmitted)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return NodeID{}, fmt.Errorf("%w: certificate is not self-signed by its key: %v", ErrNotAdmitted, err)
	}
	return NodeID(pub), nil
}

// tlsConfig builds the mutual-TLS 1.3 configuration. There is no CA: each side checks the other's
// key with admit, which sees the identity and whether we dialled.
func tlsConfig(cert tls.Certificate, admit func(id NodeID) error) *tls.Config {
	verify := func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
		id, err := peerIdentity(rawCerts)
		if err != nil {
			return err
		}
		return admit(id)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAnyClientCert,
		// Certificates are self-signed: chain verification is replaced by VerifyPeerCertificate.
		InsecureSkipVerify:    true, //nolint:gosec // identity is checked in VerifyPeerCertificate
		VerifyPeerCertificate: verify,
		NextProtos:            []string{"chainnet/1"},
	}
}

// TLSConfig returns the mutual-TLS configuration a node with key k presents, with admit
// deciding on the peer's identity (nil admits anyone). Tools and tests that speak the protocol
// use it.
func TLSConfig(k *keys.Key, admit func(id NodeID) error) (*tls.Config, error) {
	cert, err := certificate(k)
	if err != nil {
		return nil, err
	}
	if admit == nil {
		admit = func(NodeID) error { return nil }
	}
	return tlsConfig(cert, admit), nil
}

// connIdentity returns the verified identity of an established TLS connection.
func connIdentity(cs tls.ConnectionState) (NodeID, error) {
	if len(cs.PeerCertificates) != 1 {
		return NodeID{}, fmt.Errorf("%w: no peer certificate", ErrNotAdmitted)
	}
	pub, ok := cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
	if !ok {
		return NodeID{}, fmt.Errorf("%w: certificate key is not ed25519", ErrNotAdmitted)
	}
	return NodeID(pub), nil
}
