package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chainnet/chainnet/internal/wire"
)

// cpuSampler follows the CPU time of a devnet's chainnode processes, thread by thread, so that a
// load run can say what a transfer costs the nodes apart from mining: mining threads run at nice
// 19 and take whatever CPU is left, so their time says nothing about the load's cost.
type cpuSampler struct {
	mu      sync.Mutex
	start   time.Time
	end     time.Time
	threads map[string]*threadCPU // "pid/tid"
}

type threadCPU struct {
	first, last uint64 // clock ticks of user+system time
	niced       bool
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

func startCPUSampler(ctx context.Context, dir string) *cpuSampler {
	s := &cpuSampler{start: time.Now(), threads: map[string]*threadCPU{}}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return s
	}
	pids := devnetPIDs(abs)
	s.sample(pids)
	go func() {
		for ctx.Err() == nil {
			_ = sleepCtx(ctx, 100*time.Millisecond)
			s.sample(pids)
		}
	}()
	return s
}

// devnetPIDs finds the chainnode processes whose data directory is under dir.
func devnetPIDs(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmd), "\x00")
		if len(args) > 1 && filepath.Base(args[0]) == "chainnode" && args[1] == "run" && strings.Contains(string(cmd), dir) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func (s *cpuSampler) sample(pids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.end = time.Now()
	for _, pid := range pids {
		tasks, _ := os.ReadDir(filepath.Join("/proc", pid, "task"))
		for _, t := range tasks {
			stat, err := os.ReadFile(filepath.Join("/proc", pid, "task", t.Name(), "stat"))
			if err != nil {
				continue
			}
			f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
			if len(f) < 17 {
				continue
			}
			utime, _ := strconv.ParseUint(f[11], 10, 64)
			stime, _ := strconv.ParseUint(f[12], 10, 64)
			key := pid + "/" + t.Name()
			th := s.threads[key]
			if th == nil {
				th = &threadCPU{first: utime + stime}
				s.threads[key] = th
			}
			th.last = utime + stime
			th.niced = th.niced || f[16] == "19"
		}
	}
}

// summary is the CPU the nodes spent per accepted transfer, mining apart, and its ratio to the
// baseline of one signature verification per node (verify, measured in the same run).
func (s *cpuSampler) summary(txs int64, nodes int, verify time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var work, mining uint64
	for _, th := range s.threads {
		if th.niced {
			mining += th.last - th.first
		} else {
			work += th.last - th.first
		}
	}
	if txs == 0 || len(s.threads) == 0 {
		return ""
	}
	secs := s.end.Sub(s.start).Seconds()
	workSecs := float64(work) / clockTicks
	perTx := workSecs * 1e6 / float64(txs)
	return fmt.Sprintf("load: nodes' CPU over %.0fs: %.1f core-s of work, %.0f µs per accepted transfer on all %d nodes = %.2f× a signature verification per node (%.0f µs each, measured now); %.1f core-s of mining at nice 19",
		secs, workSecs, perTx, nodes, perTx/(float64(nodes)*float64(verify.Nanoseconds())/1e3), float64(verify.Nanoseconds())/1e3, float64(mining)/clockTicks)
}

// verifyCost measures one ed25519 verification on this machine now, in CPU time of the thread
// that runs it (wall time on a shared machine would count other work): the baseline a transfer's
// cost to the nodes is compared with, each node verifying each transfer once.
func verifyCost() time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	k := accountKey([32]byte{}, 0)
	msg := []byte("verify cost")
	sig := k.Sign(msg)
	const n = 2000
	before := threadCPUTime()
	for range n {
		wire.Ed25519Verify(k.Public, msg, sig)
	}
	return (threadCPUTime() - before) / n
}

func threadCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
