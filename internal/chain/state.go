package chain

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/chainnet/chainnet/internal/keys"
	"github.com/chainnet/chainnet/internal/store"
	"github.com/chainnet/chainnet/internal/wire"
)

// Account encoding in the accounts bucket: balance u64 | nonce u64 (big-endian). Accounts that
// return to zero balance and zero nonce are deleted, so state has one representation.
func encodeAccount(a Account) []byte {
	b := binary.BigEndian.AppendUint64(nil, a.Balance)
	return binary.BigEndian.AppendUint64(b, a.Nonce)
}

func decodeAccount(b []byte) (Account, error) {
	if b == nil {
		return Account{}, nil
	}
	if len(b) != 16 {
		return Account{}, fmt.Errorf("account record: %d bytes", len(b))
	}
	return Account{Balance: binary.BigEndian.Uint64(b), Nonce: binary.BigEndian.Uint64(b[8:])}, nil
}

func readAccount(tx *store.Tx, addr keys.Address) (Account, error) {
	return decodeAccount(tx.Get(store.BucketAccounts, addr[:]))
}

func writeAccount(tx *store.Tx, addr keys.Address, a Account) error {
	if a == (Account{}) {
		return tx.Delete(store.BucketAccounts, addr[:])
	}
	return tx.Put(store.BucketAccounts, addr[:], encodeAccount(a))
}

// stateView stages the account changes of one block over a store transaction, remembering each
// account's state before the block (the undo data).
type stateView struct {
	tx      *store.Tx
	current map[keys.Address]Account
	before  map[keys.Address]Account
	order   []keys.Address // first-touch order: undo records are deterministic
}

func newStateView(tx *store.Tx) *stateView {
	return &stateView{tx: tx, current: map[keys.Address]Account{}, before: map[keys.Address]Account{}}
}

func (v *stateView) get(addr keys.Address) (Account, error) {
	if a, ok := v.current[addr]; ok {
		return a, nil
	}
	a, err := readAccount(v.tx, addr)
	if err != nil {
		return Account{}, err
	}
	v.current[addr] = a
	v.before[addr] = a
	v.order = append(v.order, addr)
	return a, nil
}

func (v *stateView) set(addr keys.Address, a Account) { v.current[addr] = a }

// applyTransfer checks a transfer against state and applies it. Context-free rules (signature,
// chain id) are checked before.
func (v *stateView) applyTransfer(tx *wire.Tx) error {
	from := tx.Sender()
	sender, err := v.get(from)
	if err != nil {
		return err
	}
	if tx.Nonce != sender.Nonce {
		return ruleErr(RuleBadTxNonce, "tx %s: nonce %d, account %s expects %d", tx.ID(), tx.Nonce, from, sender.Nonce)
	}
	if tx.Amount > math.MaxUint64-tx.Fee {
		return ruleErr(RuleAmountOverflow, "tx %s: amount + fee overflows", tx.ID())
	}
	if cost := tx.Amount + tx.Fee; cost > sender.Balance {
		return ruleErr(RuleInsufficientBalance, "tx %s: costs %d, account %s holds %d", tx.ID(), cost, from, sender.Balance)
	}
	sender.Balance -= tx.Amount + tx.Fee
	sender.Nonce++
	v.set(from, sender)
	return v.credit(tx.To, tx.Amount)
}

// payGovernance charges a governance transaction to its admin's account: the nonce (replay
// protection: a signed approval is valid once) and the fee, which may be zero.
func (v *stateView) payGovernance(tx *wire.Tx) error {
	from := tx.Sender()
	admin, err := v.get(from)
	if err != nil {
		return err
	}
	if tx.Nonce != admin.Nonce {
		return ruleErr(RuleBadTxNonce, "tx %s: nonce %d, account %s expects %d", tx.ID(), tx.Nonce, from, admin.Nonce)
	}
	if tx.Fee > admin.Balance {
		return ruleErr(RuleInsufficientBalance, "tx %s: fee %d, account %s holds %d", tx.ID(), tx.Fee, from, admin.Balance)
	}
	admin.Balance -= tx.Fee
	admin.Nonce++
	v.set(from, admin)
	return nil
}

func (v *stateView) credit(addr keys.Address, amount uint64) error {
	a, err := v.get(addr)
	if err != nil {
		return err
	}
	if a.Balance > math.MaxUint64-amount {
		return ruleErr(RuleAmountOverflow, "credit to %s overflows", addr)
	}
	a.Balance += amount
	v.set(addr, a)
	return nil
}

// commit writes the staged state and returns the undo record: the accounts before the block and,
// when the block changed the membership, the governance state before it.
//
//	count uvarint | count × (address [20] | account [16]) | governance flag u8 | [state bytes]
func (v *stateView) commit(govBefore []byte) ([]byte, error) {
	undo := binary.AppendUvarint(nil, uint64(len(v.order)))
	for _, addr := range v.order {
		if err := writeAccount(v.tx, addr, v.current[addr]); err != nil {
			return nil, err
		}
		undo = append(undo, addr[:]...)
		undo = append(undo, encodeAccount(v.before[addr])...)
	}
	if govBefore == nil {
		return append(undo, 0), nil
	}
	return append(append(undo, 1), govBefore...), nil
}

// applyUndo restores the accounts and the membership a block changed.
func applyUndo(tx *store.Tx, undo []byte) error {
	n, off := binary.Uvarint(undo)
	if off <= 0 {
		return fmt.Errorf("undo record: bad count")
	}
	const rec = keys.AddressSize + 16
	end := uint64(off) + n*rec
	if n > uint64(len(undo)) || uint64(len(undo)) < end+1 {
		return fmt.Errorf("undo record: %d bytes for %d accounts", len(undo)-off, n)
	}
	switch flag, gov := undo[end], undo[end+1:]; {
	case flag == 0 && len(gov) == 0:
	case flag == 1 && len(gov) > 0:
		if err := tx.Put(store.BucketMeta, metaGovernance, gov); err != nil {
			return err
		}
	default:
		return fmt.Errorf("undo record: governance flag %d with %d bytes", flag, len(gov))
	}
	for i := uint64(0); i < n; i++ {
		r := undo[off+int(i)*rec:]
		var addr keys.Address
		copy(addr[:], r[:keys.AddressSize])
		a, err := decodeAccount(r[keys.AddressSize:rec])
		if err != nil {
			return err
		}
		if err := writeAccount(tx, addr, a); err != nil {
			return err
		}
	}
	return nil
}
