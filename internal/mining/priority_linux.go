package mining

import (
	"runtime"
	"syscall"
)

// lowerPriority pins the calling goroutine to its OS thread and makes that thread run at
// background priority (Linux nice values are per thread). The goroutine never unlocks: when it
// returns, the runtime ends the thread instead of handing a niced thread to other goroutines.
func lowerPriority() error {
	runtime.LockOSThread()
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), backgroundNice)
}
