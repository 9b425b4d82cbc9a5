package testnet

import (
	"context"
	"fmt"
	"time"
)

// pollInterval is the pause between two checks of a condition. Short,
// because everything here is local and fast.
const pollInterval = 20 * time.Millisecond

// WaitFor calls check until it reports true, it fails, ctx is done or
// timeout passes. what names the condition in the error.
func WaitFor(ctx context.Context, timeout time.Duration, what string,
	check func(ctx context.Context) (bool, error)) error {

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var lastErr error
	for {
		ok, err := check(ctx)
		if err == nil && ok {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("wait for %s: %w (last error: %v)",
					what, ctx.Err(), lastErr)
			}
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-ticker.C:
		}
	}
}
