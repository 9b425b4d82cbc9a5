package testnet

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
)

// BuildBinary compiles the flash command into dir and returns the path of
// the binary. It must run inside the module's source tree; buildFlags go to
// `go build` (for example "-race").
func BuildBinary(ctx context.Context, dir string, buildFlags ...string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build flash: %w", err)
	}
	name := "flash"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	out := filepath.Join(dir, name)
	args := append([]string{"build", "-o", out}, buildFlags...)
	args = append(args, "github.com/flash-ln/flash/cmd/flash")
	cmd := exec.CommandContext(ctx, goTool, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build flash: %w\n%s", err, stderr.Bytes())
	}
	return out, nil
}
