//go:build !linux

package pathfind

// threadCPU is not measured outside Linux.
func threadCPU() int64 { return 0 }
