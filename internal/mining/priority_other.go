//go:build !linux

package mining

// lowerPriority does nothing where threads have no nice value of their own.
func lowerPriority() error { return nil }
