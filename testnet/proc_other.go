//go:build !linux

package testnet

import "syscall"

// sysProcAttr cannot tie a child's life to its parent's outside Linux; the
// caller's cleanup has to stop the daemons.
func sysProcAttr(bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{}
}
