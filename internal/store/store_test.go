package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestUpdateIsAtomic(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = db.Update(func(tx *Tx) error {
		if err := tx.Put(BucketMeta, []byte("a"), []byte("1")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v", err)
	}
	db.View(func(tx *Tx) error {
		if tx.Get(BucketMeta, []byte("a")) != nil {
			t.Error("rolled-back write is visible")
		}
		return nil
	})
	if err := db.Update(func(tx *Tx) error { return tx.Put(BucketMeta, []byte("b"), []byte("2")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *Tx) error {
		if string(tx.Get(BucketMeta, []byte("b"))) != "2" {
			t.Error("committed write lost across reopen")
		}
		return nil
	})
}

func TestSecondOpenIsLockedNotHung(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Open(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

func TestPeerTable(t *testing.T) {
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.PutPeer("p1", []byte("r1"))
	db.PutPeer("p2", []byte("r2"))
	db.DeletePeer("p1")
	got := map[string]string{}
	db.ForEachPeer(func(k string, r []byte) error { got[k] = string(r); return nil })
	if len(got) != 1 || got["p2"] != "r2" {
		t.Fatalf("peers = %v", got)
	}
}

// TestCorruptFileIsErrCorrupt: a file whose meta pages are gone (zeroed, or never a database) is
// reported as ErrCorrupt, which chainnode turns into its corrupt-store exit status.
func TestCorruptFileIsErrCorrupt(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	db.Close()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 2*os.Getpagesize()), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Open(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("zeroed meta pages: got %v, want ErrCorrupt", err)
	}
	garbage := t.TempDir()
	if err := os.WriteFile(filepath.Join(garbage, FileName), bytes.Repeat([]byte("not a database "), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(garbage); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("garbage file: got %v, want ErrCorrupt", err)
	}
	if _, err := Open(t.TempDir()); err != nil {
		t.Fatalf("an empty directory must open: %v", err)
	}
}
