// Package keys owns ed25519 key pairs and their on-disk JSON form: node identities (nodeId) and
// account/miner keys (address).
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// AddressSize is the length in bytes of an account address.
const AddressSize = 20

// Address identifies an account: the first 20 bytes of SHA-256 of its ed25519 public key.
type Address [AddressSize]byte

// String returns the address as 40 lower-case hex characters.
func (a Address) String() string { return hex.EncodeToString(a[:]) }

// MarshalText implements encoding.TextMarshaler.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Address) UnmarshalText(b []byte) error {
	parsed, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = parsed
	return nil
}

// ParseAddress parses 40 hex characters, with or without a 0x prefix.
func ParseAddress(s string) (Address, error) {
	var a Address
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	if len(s) != 2*AddressSize {
		return a, fmt.Errorf("address %q: want %d hex characters, got %d", s, 2*AddressSize, len(s))
	}
	if _, err := hex.Decode(a[:], []byte(s)); err != nil {
		return a, fmt.Errorf("address %q: %w", s, err)
	}
	return a, nil
}

// AddressOf derives the account address of a public key.
func AddressOf(pub ed25519.PublicKey) Address {
	sum := sha256.Sum256(pub)
	var a Address
	copy(a[:], sum[:AddressSize])
	return a
}

// ParsePublicKey parses a 64-character hex ed25519 public key (a nodeId or a miner key).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("public key %q: %w", s, err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %q: want %d bytes, got %d", s, ed25519.PublicKeySize, len(b))
	}
	return ed25519.PublicKey(b), nil
}

// Key is an ed25519 key pair.
type Key struct {
	Public  ed25519.PublicKey
	Private ed25519.PrivateKey
}

// Generate creates a new random key pair.
func Generate() (*Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return &Key{Public: pub, Private: priv}, nil
}

// FromSeed derives a key pair from a 32-byte seed.
func FromSeed(seed []byte) (*Key, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("seed: want %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Key{Public: priv.Public().(ed25519.PublicKey), Private: priv}, nil
}

// NodeID is the public key in lower-case hex: how peers and permission files name a node.
func (k *Key) NodeID() string { return hex.EncodeToString(k.Public) }

// PublicHex is the public key in lower-case hex (same as NodeID; reads better for miner keys).
func (k *Key) PublicHex() string { return k.NodeID() }

// Address is the account address of the key.
func (k *Key) Address() string { return AddressOf(k.Public).String() }

// AccountAddress is the typed account address of the key.
func (k *Key) AccountAddress() Address { return AddressOf(k.Public) }

// Sign signs msg with the private key.
func (k *Key) Sign(msg []byte) []byte { return ed25519.Sign(k.Private, msg) }

type fileForm struct {
	Type       string `json:"type"`
	PublicKey  string `json:"publicKey"`
	PrivateKey string `json:"privateKey"`
}

// Marshal encodes a key in the key-file JSON form.
func Marshal(k *Key) ([]byte, error) {
	if k == nil || len(k.Private) != ed25519.PrivateKeySize {
		return nil, errors.New("marshal key: no private key")
	}
	out, err := json.MarshalIndent(fileForm{
		Type:       "ed25519",
		PublicKey:  hex.EncodeToString(k.Public),
		PrivateKey: hex.EncodeToString(k.Private.Seed()),
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return append(out, '\n'), nil
}

// Parse decodes a key file and checks that its public key matches its private key.
func Parse(b []byte) (*Key, error) {
	var f fileForm
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse key file: %w", err)
	}
	if f.Type != "ed25519" {
		return nil, fmt.Errorf("parse key file: type %q: only ed25519 is supported", f.Type)
	}
	seed, err := hex.DecodeString(f.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("parse key file: privateKey: %w", err)
	}
	k, err := FromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("parse key file: privateKey: %w", err)
	}
	if f.PublicKey != "" && !strings.EqualFold(f.PublicKey, k.NodeID()) {
		return nil, errors.New("parse key file: publicKey does not match privateKey")
	}
	return k, nil
}

// Load reads a key file.
func Load(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	k, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// Save writes a key file with mode 0600, atomically (temp file + rename), creating directories.
func Save(path string, k *Key) error {
	b, err := Marshal(k)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save key %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save key %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save key %s: %w", path, err)
	}
	return nil
}

// LoadOrCreate loads the key at path, creating and saving a new one if the file does not exist.
// The bool reports whether a key was created.
func LoadOrCreate(path string) (*Key, bool, error) {
	k, err := Load(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	k, err = Generate()
	if err != nil {
		return nil, false, err
	}
	if err := Save(path, k); err != nil {
		return nil, false, err
	}
	return k, true, nil
}
