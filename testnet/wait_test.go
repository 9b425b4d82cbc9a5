package testnet

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWaitFor(t *testing.T) {
	ctx := context.Background()
	calls := 0
	err := WaitFor(ctx, 10*time.Second, "third call", func(context.Context) (bool, error) {
		calls++
		return calls == 3, nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("WaitFor: %v after %d calls", err, calls)
	}

	// Errors are retried; the last one is reported at the deadline.
	err = WaitFor(ctx, 50*time.Millisecond, "never", func(context.Context) (bool, error) {
		return false, errors.New("still down")
	})
	if err == nil || !strings.Contains(err.Error(), "never") ||
		!strings.Contains(err.Error(), "still down") {
		t.Fatalf("WaitFor at deadline: %v", err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err = WaitFor(cancelled, time.Hour, "cancelled", func(context.Context) (bool, error) {
		return false, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitFor with a cancelled context: %v", err)
	}
}

func TestNewNodeConfig(t *testing.T) {
	for _, cfg := range []NodeConfig{
		{DataDir: "d", Binary: "b"},
		{Name: "n", Binary: "b"},
		{Name: "n", DataDir: "d"},
	} {
		if _, err := NewNode(cfg); err == nil {
			t.Errorf("NewNode(%+v) accepted", cfg)
		}
	}
	n, err := NewNode(NodeConfig{Name: "n", DataDir: "d", Binary: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if n.Client() != nil || n.PID() != 0 || n.Exited() {
		t.Errorf("a node never started looks running")
	}
	if err := n.Stop(context.Background()); err != nil {
		t.Errorf("stop of a stopped node: %v", err)
	}
	if err := n.Kill(); err != nil {
		t.Errorf("kill of a stopped node: %v", err)
	}
}
