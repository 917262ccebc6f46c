package wire

import "errors"

// Decoding errors. Every decoding failure wraps exactly one of these, so callers can count
// rejections by cause with errors.Is.
var (
	ErrTruncated       = errors.New("truncated input")
	ErrTrailingBytes   = errors.New("trailing bytes after object")
	ErrNonCanonical    = errors.New("non-canonical integer encoding")
	ErrTooLarge        = errors.New("object exceeds size limit")
	ErrUnknownTxType   = errors.New("unknown transaction type")
	ErrInvalidEncoding = errors.New("invalid encoding")
)
