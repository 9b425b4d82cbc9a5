//go:build unix

package testnet

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// detachedProcAttr starts a daemon in a session of its own, so that the
// terminal's Ctrl-C or hang-up, meant for the command that ran `up`, does
// not reach the network it left running.
func detachedProcAttr(killWithParent bool) *syscall.SysProcAttr {
	attr := sysProcAttr(killWithParent)
	attr.Setsid = true
	return attr
}

// processAlive reports whether pid names a live process: a zombie, dead
// but not yet reaped, counts as gone.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if runtime.GOOS != "linux" {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and
	// may itself hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || (stat[i+2] != 'Z' && stat[i+2] != 'X')
}

// processRuns reports whether pid is a live process started with arg on
// its command line. It guards every signal: after a reboot, a recorded
// pid may name somebody else's process. Where the command line cannot be
// read, liveness alone decides.
func processRuns(pid int, arg string) bool {
	if !processAlive(pid) {
		return false
	}
	if runtime.GOOS != "linux" {
		return true
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	for _, a := range bytes.Split(cmdline, []byte{0}) {
		if string(a) == arg {
			return true
		}
	}
	return false
}

// signalProcess sends sig to pid; a process already gone is no error.
func signalProcess(pid int, sig syscall.Signal) error {
	err := syscall.Kill(pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)
