//go:build !unix

package testnet

import (
	"errors"
	"syscall"
)

func detachedProcAttr(killWithParent bool) *syscall.SysProcAttr {
	return sysProcAttr(killWithParent)
}

// processAlive cannot tell outside Unix; the RPC's answer decides.
func processAlive(pid int) bool { return pid > 0 }

func processRuns(pid int, _ string) bool { return processAlive(pid) }

func signalProcess(int, syscall.Signal) error {
	return errors.New("signals are not supported on this system")
}

const (
	sigTerm = syscall.Signal(15)
	sigKill = syscall.Signal(9)
)
