package testnet

import "syscall"

func sysProcAttr(killWithParent bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	if killWithParent {
		attr.Pdeathsig = syscall.SIGKILL
	}
	return attr
}
