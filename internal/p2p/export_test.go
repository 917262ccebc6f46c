package p2p

// SetPendingLimits lowers the bounds of pending headers for a test; the returned function
// restores them.
func SetPendingLimits(perPeer, total int) (restore func()) {
	old := pendingLimits
	pendingLimits.perPeer, pendingLimits.total = perPeer, total
	return func() { pendingLimits = old }
}
