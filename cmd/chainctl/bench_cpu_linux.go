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

// cpuSampler follows the CPU time of a devnet's chainnode processes (and of their threads, to
// show the mining threads' share) over a load run.
type cpuSampler struct {
	mu      sync.Mutex
	start   time.Time
	end     time.Time
	threads map[string]*threadCPU // "pid/tid"
	procs   map[string]*threadCPU // pid: the process total, dead threads included
}

type threadCPU struct {
	first, last uint64 // clock ticks of user+system time
	niced       bool
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

func startCPUSampler(ctx context.Context, dir string) *cpuSampler {
	s := &cpuSampler{start: time.Now(), threads: map[string]*threadCPU{}, procs: map[string]*threadCPU{}}
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
		if cpu, _, ok := readCPU(filepath.Join("/proc", pid, "stat")); ok {
			record(s.procs, pid, cpu, false)
		}
		tasks, _ := os.ReadDir(filepath.Join("/proc", pid, "task"))
		for _, t := range tasks {
			if cpu, niced, ok := readCPU(filepath.Join("/proc", pid, "task", t.Name(), "stat")); ok {
				record(s.threads, pid+"/"+t.Name(), cpu, niced)
			}
		}
	}
}

func record(m map[string]*threadCPU, key string, cpu uint64, niced bool) {
	th := m[key]
	if th == nil {
		th = &threadCPU{first: cpu}
		m[key] = th
	}
	th.last = cpu
	th.niced = th.niced || niced
}

// readCPU reads user+system clock ticks and whether the nice value is the miners' from a
// /proc stat file.
func readCPU(path string) (cpu uint64, niced, ok bool) {
	stat, err := os.ReadFile(path)
	if err != nil {
		return 0, false, false
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) < 17 {
		return 0, false, false
	}
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	return utime + stime, f[16] == "19", true
}

// summary is the CPU the nodes' processes spent per accepted transfer (dead threads included),
// against the baseline of one signature verification per node (verify, measured in the same run).
// It includes the miners, which at nice 19 fill every idle moment, so it is an upper bound on what
// a transfer costs; the mining threads' own share is shown as sampled (threads that end between two
// samples lose their last moments, so it is approximate).
func (s *cpuSampler) summary(txs int64, nodes int, verify time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var total, mining uint64
	for _, p := range s.procs {
		total += p.last - p.first
	}
	for _, th := range s.threads {
		if th.niced {
			mining += th.last - th.first
		}
	}
	if txs == 0 || len(s.procs) == 0 {
		return ""
	}
	perTx := float64(total) / clockTicks * 1e6 / float64(txs)
	verifyUS := float64(verify.Nanoseconds()) / 1e3
	return fmt.Sprintf("load: nodes' CPU over %.0fs: %.1f core-s (about %.1f of it in mining threads at nice 19); at most %.0f µs per accepted transfer on all %d nodes = at most %.2f× a signature verification per node (%.0f µs each, measured now)",
		s.end.Sub(s.start).Seconds(), float64(total)/clockTicks, float64(mining)/clockTicks, perTx, nodes, perTx/(float64(nodes)*verifyUS), verifyUS)
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
