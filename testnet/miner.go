package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/flash-ln/flash/daemon/rpc"
)

// MinerLogFileName is the file, in a network's directory, that receives
// the auto-miner's output.
const MinerLogFileName = "miner.log"

// Mine mines n blocks on the first running node of the network in dir,
// paying nobody of the network, and waits until every running node has
// them. It returns the hashes of the blocks.
func Mine(ctx context.Context, dir string, n int) ([]string, error) {
	if n < 1 || n > rpc.MaxMineBlocks {
		return nil, fmt.Errorf("testnet mine: %d blocks: want 1 to %d", n, rpc.MaxMineBlocks)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := LoadState(dir)
	if err != nil {
		return nil, fmt.Errorf("testnet mine: %w", err)
	}
	var clients []*rpc.Client
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for _, node := range st.Nodes {
		if c, _, ok := connectRunning(ctx, dir, node); ok {
			clients = append(clients, c)
		}
	}
	if len(clients) == 0 {
		return nil, fmt.Errorf("testnet mine: no node of %s is running", dir)
	}
	res, err := clients[0].ChainMine(ctx, n, burnAddress)
	if err != nil {
		return nil, fmt.Errorf("testnet mine: %w", err)
	}
	info, err := clients[0].ChainInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("testnet mine: %w", err)
	}
	for _, c := range clients[1:] {
		err := WaitFor(ctx, waitTimeout, "height "+fmt.Sprint(info.Height),
			func(ctx context.Context) (bool, error) {
				ci, err := c.ChainInfo(ctx)
				if err != nil {
					return false, err
				}
				return ci.Height >= info.Height, nil
			})
		if err != nil {
			return res.BlockHashes, fmt.Errorf("testnet mine: %w", err)
		}
	}
	return res.BlockHashes, nil
}

// RunMiner mines one block per interval on the network in dir until ctx
// is done or the network is gone. A failed block is logged and retried
// at the next tick: a node restarting must not end the miner.
func RunMiner(ctx context.Context, dir string, interval time.Duration, log *slog.Logger) error {
	if interval <= 0 {
		return fmt.Errorf("testnet miner: interval %v: must be positive", interval)
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		st, err := LoadState(dir)
		if errors.Is(err, ErrNoNetwork) {
			log.Info("network gone; auto-miner exiting", "dir", dir)
			return nil
		}
		if err != nil {
			log.Warn("read network state", "err", err)
			continue
		}
		mined := false
		for _, n := range st.Nodes {
			c, _, ok := connectRunning(ctx, dir, n)
			if !ok {
				continue
			}
			callCtx, cancel := context.WithTimeout(ctx, interval+statusCallTimeout)
			res, err := c.ChainMine(callCtx, 1, burnAddress)
			cancel()
			c.Close()
			if err != nil {
				log.Warn("mine", "node", n.Name, "err", err)
				break
			}
			log.Debug("mined", "node", n.Name, "block", res.BlockHashes)
			mined = true
			break
		}
		if !mined {
			log.Warn("no block this interval: no node answered")
		}
	}
}

// startMiner starts the auto-miner process, detached like the daemons,
// and records its pid.
func (r *upRun) startMiner() error {
	logPath := filepath.Join(r.dir, MinerLogFileName)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start auto-miner: %w", err)
	}
	interval := time.Duration(r.state.BlockInterval)
	cmd := exec.Command(r.state.Binary, "testnet", "miner",
		"--testnet-dir", r.dir, "--block-interval", interval.String())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = detachedProcAttr(r.cfg.KillWithParent)
	err = cmd.Start()
	logFile.Close()
	if err != nil {
		return fmt.Errorf("start auto-miner: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	r.state.MinerPID = cmd.Process.Pid
	r.progress("auto-miner started: one block every %v (log %s)", interval, logPath)
	return r.state.save(r.dir)
}
