package chain

import (
	"errors"
	"fmt"
)

// Rule names a consensus rule. Every rejected block or transaction is reported with the rule it
// broke; metrics count rejections by rule.
type Rule string

const (
	RuleBadVersion          Rule = "bad-version"
	RuleHighHash            Rule = "high-hash"            // proof of work above target
	RuleBadDifficulty       Rule = "bad-difficulty"       // bits differ from the retarget rule
	RuleTimeTooOld          Rule = "time-too-old"         // not above median of last 11
	RuleTimeTooNew          Rule = "time-too-new"         // too far in the future
	RuleBadMerkleRoot       Rule = "bad-merkle-root"      // header does not commit to the txs
	RuleBlockTooLarge       Rule = "block-too-large"      // over consensus maxBlockSize
	RuleBadMinerSignature   Rule = "bad-miner-signature"  // signature over header hash invalid
	RuleMinerNotPermitted   Rule = "miner-not-permitted"  // key not a member's miner key after the parent
	RuleNoCoinbase          Rule = "no-coinbase"          // first tx must be the coinbase
	RuleMultipleCoinbase    Rule = "multiple-coinbase"    // coinbase anywhere but first
	RuleBadCoinbaseAmount   Rule = "bad-coinbase-amount"  // not exactly reward + fees
	RuleBadCoinbaseHeight   Rule = "bad-coinbase-height"  // coinbase nonce must be the height
	RuleDuplicateTx         Rule = "duplicate-tx"         // same tx twice in a block
	RuleBadTxSignature      Rule = "bad-tx-signature"     // transfer signature invalid
	RuleWrongChainID        Rule = "wrong-chain-id"       // tx for another network
	RuleBadTxNonce          Rule = "bad-tx-nonce"         // not the account's next nonce
	RuleInsufficientBalance Rule = "insufficient-balance" // amount + fee above balance
	RuleAmountOverflow      Rule = "amount-overflow"      // sums overflow 64 bits
	RuleZeroAmount          Rule = "zero-amount"          // transfer of nothing
	RuleSelfTransfer        Rule = "self-transfer"        // to == from
	RuleInvalidAncestor     Rule = "invalid-ancestor"     // builds on a block known invalid
	RuleBadGenesis          Rule = "bad-genesis"          // a second genesis
	// Governance (permissioned networks): the payload must decode, the signer must be a member
	// organization's admin and the action must be valid under the membership in force.
	RuleMalformedGovernance  Rule = "malformed-governance"
	RuleGovernanceRefused    Rule = "governance-refused"
	RuleGovernanceNotAllowed Rule = "governance-not-allowed"  // on a public network
	RuleTooManyGovernanceTxs Rule = "too-many-governance-txs" // above MaxGovernanceTxsPerBlock
	RuleFeeTooLow            Rule = "fee-too-low"             // mempool policy, not consensus
	// RuleBeyondHaltHeight is node policy, not consensus: a node told to halt at a height (a
	// scheduled upgrade) takes no block above it until it restarts without the halt.
	RuleBeyondHaltHeight Rule = "beyond-halt-height"
)

// RuleError is a block or transaction rejected for breaking a rule.
type RuleError struct {
	Rule   Rule
	Detail string
}

func (e *RuleError) Error() string { return fmt.Sprintf("%s: %s", e.Rule, e.Detail) }

// Is makes errors.Is(err, &RuleError{Rule: r}) match on the rule alone.
func (e *RuleError) Is(target error) bool {
	t, ok := target.(*RuleError)
	return ok && t.Rule == e.Rule
}

func ruleErr(rule Rule, format string, args ...any) error {
	return &RuleError{Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// RuleOf returns the rule an error reports, or "" if it reports none. It finds a RuleError
// through every kind of wrapping, errors.Join included.
func RuleOf(err error) Rule {
	var re *RuleError
	if errors.As(err, &re) {
		return re.Rule
	}
	return ""
}

// IsMutation reports whether a block was refused for a body that does not belong to its header:
// transactions that do not give its Merkle root, or a miner signature that does not verify. The
// header (and so the hash) may still be a valid block's: the hash must not be remembered as
// invalid, and the body should be fetched again from another peer. The peer that sent it is at
// fault either way — an honest node relays only blocks it validated.
func IsMutation(err error) bool {
	switch RuleOf(err) {
	case RuleBadMerkleRoot, RuleBadMinerSignature:
		return true
	}
	return false
}

// isTransient reports whether a refusal depends on this node's clock or configuration rather than
// on the block: such blocks may be valid later and are not remembered as rejected.
func isTransient(err error) bool {
	switch RuleOf(err) {
	case RuleTimeTooNew, RuleBeyondHaltHeight, "":
		return true
	}
	return false
}
