package chain

import "fmt"

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
	RuleMinerNotPermitted   Rule = "miner-not-permitted"  // key not a listed miner
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
	RuleFeeTooLow           Rule = "fee-too-low"          // mempool policy, not consensus
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

// RuleOf returns the rule an error reports, or "" if it is not a RuleError.
func RuleOf(err error) Rule {
	for err != nil {
		if re, ok := err.(*RuleError); ok {
			return re.Rule
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return ""
		}
		err = u.Unwrap()
	}
	return ""
}
