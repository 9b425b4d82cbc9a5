package testnet

import (
	"context"
	"fmt"
	"time"

	"github.com/flash-ln/flash/daemon/rpc"
)

// URI asks a node for its NODE_ID@HOST:PORT.
func URI(ctx context.Context, n *Node) (string, error) {
	c := n.Client()
	if c == nil {
		return "", fmt.Errorf("node %s is not running", n.Name())
	}
	info, err := c.GetInfo(ctx)
	if err != nil {
		return "", fmt.Errorf("node %s: %w", n.Name(), err)
	}
	return info.URI, nil
}

// ConnectPeers makes from connect to to as a persistent Lightning peer.
func ConnectPeers(ctx context.Context, from, to *Node) error {
	uri, err := URI(ctx, to)
	if err != nil {
		return err
	}
	if err := from.Client().PeerConnect(ctx, uri); err != nil {
		return fmt.Errorf("%s: connect to %s: %w", from.Name(), to.Name(), err)
	}
	return nil
}

// WaitChannel polls until the node lists the channel at point and ok
// accepts it, and returns it.
func WaitChannel(ctx context.Context, timeout time.Duration, n *Node, point string,
	ok func(rpc.Channel) bool) (rpc.Channel, error) {

	var last rpc.Channel
	err := WaitFor(ctx, timeout, n.Name()+" channel "+point, func(ctx context.Context) (bool, error) {
		c := n.Client()
		if c == nil {
			return false, fmt.Errorf("node %s is not running", n.Name())
		}
		res, err := c.ChannelList(ctx)
		if err != nil {
			return false, err
		}
		for _, ch := range res.Channels {
			if ch.ChannelPoint == point {
				last = ch
				return ok(ch), nil
			}
		}
		return false, nil
	})
	if err != nil {
		return last, fmt.Errorf("%w; last seen %+v", err, last)
	}
	return last, nil
}
