// Package store owns the node's on-disk database: one bbolt file whose every write transaction is
// atomic and fsynced before it returns, so a crash at any moment leaves the last committed state.
//
// Why bbolt: it is ACID with a single writer — which matches a chain, where one goroutine connects
// blocks — and it fsyncs every commit by default (etcd and lnd rely on it). Pebble syncs only when
// asked and badger does not sync writes by default; a missed flag there would silently lose blocks.
// The price is write amplification (a commit rewrites the B+tree path), which is small next to the
// signature checks a block needs.
//
// The store knows buckets and bytes; the chain package owns the schema of chain buckets, and the
// P2P layer the records of the peer table.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names. Keep them stable: they are the on-disk schema.
var (
	BucketMeta     = []byte("meta")     // tip, genesis hash, schema version
	BucketBlocks   = []byte("blocks")   // block hash → encoded block
	BucketIndex    = []byte("index")    // block hash → index entry (chain's encoding)
	BucketMain     = []byte("main")     // height (8 bytes big-endian) → hash on the best chain
	BucketAccounts = []byte("accounts") // address → account state
	BucketUndo     = []byte("undo")     // block hash → undo record
	BucketTxIndex  = []byte("txindex")  // tx id → block hash and position
	BucketPeers    = []byte("peers")    // peer key → peer record (P2P layer)
)

var allBuckets = [][]byte{BucketMeta, BucketBlocks, BucketIndex, BucketMain, BucketAccounts, BucketUndo, BucketTxIndex, BucketPeers}

// FileName is the database file inside a data directory.
const FileName = "chain.db"

// ErrLocked is returned when another process holds the database.
var ErrLocked = errors.New("database is locked by another process")

// ErrCorrupt is returned when the database file cannot be read as a database (both meta pages
// invalid, a checksum mismatch, another format version): the chain in it is lost, and only a
// fresh store synced from peers or a snapshot can replace it.
var ErrCorrupt = errors.New("database is corrupt")

// DB is an open store.
type DB struct {
	bolt *bolt.DB
	path string
}

// Tx is a read or read-write transaction.
type Tx struct{ tx *bolt.Tx }

// Options tune Open.
type Options struct {
	// NoSync skips the fsync of every commit. Only for generators of test and benchmark chains,
	// whose output is copied or discarded: a crash loses what was written since the file was
	// opened, and may corrupt it. A node never sets it.
	NoSync bool
}

// Open opens (creating if needed) the database in dir.
func Open(dir string) (*DB, error) { return OpenWith(dir, Options{}) }

// OpenWith is Open with options.
func OpenWith(dir string, o Options) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// The timeout turns a second node on the same data directory into an error instead of a hang.
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoSync: o.NoSync})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: %w", path, ErrLocked)
	}
	if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch) {
		return nil, fmt.Errorf("open store %s: %w: %w", path, ErrCorrupt, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &DB{bolt: b, path: path}, nil
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close closes the database.
func (db *DB) Close() error { return db.bolt.Close() }

// Update runs fn in a read-write transaction, committed (and fsynced) if fn returns nil, rolled
// back otherwise.
func (db *DB) Update(fn func(*Tx) error) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

// View runs fn in a read-only transaction over a consistent snapshot.
func (db *DB) View(fn func(*Tx) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

// Get returns a copy of the value at key, or nil.
func (t *Tx) Get(bucket, key []byte) []byte {
	v := t.tx.Bucket(bucket).Get(key)
	if v == nil {
		return nil
	}
	return append([]byte(nil), v...)
}

// Put stores value at key.
func (t *Tx) Put(bucket, key, value []byte) error {
	if err := t.tx.Bucket(bucket).Put(key, value); err != nil {
		return fmt.Errorf("put %s: %w", bucket, err)
	}
	return nil
}

// Delete removes key.
func (t *Tx) Delete(bucket, key []byte) error {
	if err := t.tx.Bucket(bucket).Delete(key); err != nil {
		return fmt.Errorf("delete %s: %w", bucket, err)
	}
	return nil
}

// ForEach calls fn for every key in bucket in key order. The slices are valid only during fn.
func (t *Tx) ForEach(bucket []byte, fn func(k, v []byte) error) error {
	return t.tx.Bucket(bucket).ForEach(fn)
}

// Count returns the number of keys in bucket.
func (t *Tx) Count(bucket []byte) int { return t.tx.Bucket(bucket).Stats().KeyN }

// PutPeer stores a peer-table record.
func (db *DB) PutPeer(key string, record []byte) error {
	return db.Update(func(t *Tx) error { return t.Put(BucketPeers, []byte(key), record) })
}

// DeletePeer removes a peer-table record.
func (db *DB) DeletePeer(key string) error {
	return db.Update(func(t *Tx) error { return t.Delete(BucketPeers, []byte(key)) })
}

// UpdatePeers stores and deletes peer-table records in one transaction.
func (db *DB) UpdatePeers(puts map[string][]byte, deletes []string) error {
	return db.Update(func(t *Tx) error {
		for k, v := range puts {
			if err := t.Put(BucketPeers, []byte(k), v); err != nil {
				return err
			}
		}
		for _, k := range deletes {
			if err := t.Delete(BucketPeers, []byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForEachPeer calls fn for every peer record. record is a copy fn may keep.
func (db *DB) ForEachPeer(fn func(key string, record []byte) error) error {
	return db.View(func(t *Tx) error {
		return t.ForEach(BucketPeers, func(k, v []byte) error {
			return fn(string(k), append([]byte(nil), v...))
		})
	})
}
