package testnet

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// Network is a set of nodes living under one directory, node NAME in
// DIR/NAME.
type Network struct {
	// Dir holds one data directory per node.
	Dir string
	// Binary is the flash executable.
	Binary string
	// LogLevel is given to every daemon.
	LogLevel string
	// KillWithParent ties the daemons' lives to this process (see
	// NodeConfig.KillWithParent).
	KillWithParent bool

	mu    sync.Mutex
	nodes []*Node
}

// StartNode starts node name with its chain linked to the chain listeners
// of peers, and waits until its RPC answers.
func (nw *Network) StartNode(ctx context.Context, name string, peers ...*Node) (*Node, error) {
	var connect []string
	for _, p := range peers {
		addr := p.ChainAddress()
		if addr == "" {
			return nil, fmt.Errorf("testnet: peer %s has no chain address", p.Name())
		}
		connect = append(connect, addr)
	}
	n, err := NewNode(NodeConfig{
		Name:           name,
		DataDir:        filepath.Join(nw.Dir, name),
		Binary:         nw.Binary,
		ChainConnect:   connect,
		LogLevel:       nw.LogLevel,
		KillWithParent: nw.KillWithParent,
	})
	if err != nil {
		return nil, err
	}
	if err := n.Start(ctx); err != nil {
		return nil, err
	}
	nw.mu.Lock()
	nw.nodes = append(nw.nodes, n)
	nw.mu.Unlock()
	return n, nil
}

// Nodes lists the nodes in the order they were added.
func (nw *Network) Nodes() []*Node {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return append([]*Node(nil), nw.nodes...)
}

// Stop stops every running node cleanly, in parallel.
func (nw *Network) Stop(ctx context.Context) error {
	nodes := nw.Nodes()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.Stop(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Kill kills every running node.
func (nw *Network) Kill() error {
	var errs []error
	for _, n := range nw.Nodes() {
		errs = append(errs, n.Kill())
	}
	return errors.Join(errs...)
}

// Tip is a node's view of the chain.
type Tip struct {
	Height int32
	Hash   string
}

// ChainTip asks a node for its chain tip.
func ChainTip(ctx context.Context, n *Node) (Tip, error) {
	c := n.Client()
	if c == nil {
		return Tip{}, fmt.Errorf("node %s is not running", n.Name())
	}
	info, err := c.ChainInfo(ctx)
	if err != nil {
		return Tip{}, fmt.Errorf("node %s: %w", n.Name(), err)
	}
	return Tip{Height: info.Height, Hash: info.BestHash}, nil
}

// WaitSameTip polls until every node has the same chain tip, at least
// minHeight high, and returns it.
func WaitSameTip(ctx context.Context, timeout time.Duration, minHeight int32, nodes ...*Node) (Tip, error) {
	var tip Tip
	err := WaitFor(ctx, timeout, "same chain tip", func(ctx context.Context) (bool, error) {
		for i, n := range nodes {
			t, err := ChainTip(ctx, n)
			if err != nil {
				return false, err
			}
			if t.Height < minHeight || (i > 0 && t != tip) {
				return false, nil
			}
			tip = t
		}
		return true, nil
	})
	return tip, err
}

// WaitWalletSynced polls until the node's wallet has applied the chain's
// tip, so that balances read afterwards reflect it.
func WaitWalletSynced(ctx context.Context, timeout time.Duration, n *Node) error {
	return WaitFor(ctx, timeout, n.Name()+" wallet synced", func(ctx context.Context) (bool, error) {
		c := n.Client()
		if c == nil {
			return false, fmt.Errorf("node %s is not running", n.Name())
		}
		info, err := c.GetInfo(ctx)
		if err != nil {
			return false, err
		}
		return info.SyncedToChain, nil
	})
}
