//go:build unix

package channel

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process used so far. The benchmarks
// report throughput per CPU second beside wall-clock figures, because the
// machines they run on are shared.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
