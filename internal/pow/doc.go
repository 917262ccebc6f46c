// Package pow owns proof-of-work arithmetic: compact targets, difficulty, chain work, the
// difficulty-retargeting rule and the miner's midstate hashing of headers.
package pow
